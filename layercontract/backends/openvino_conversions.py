"""keras-openvino's eager values read back once per graph content.

Keras on OpenVINO runs eager ops lazily: a tensor is an OpenVINO graph of constants, and each
value read back (keras/src/backend/openvino/core.py `convert_to_numpy`, Keras 3.15.1; the
Dropout seeds in random.py read theirs the same way) builds a one-result model of that graph
and compiles it (`compile_model`, ~13 ms of CPU for the smallest graph, most of this backend's
run). The suites build the same graph again and again: each hypothesis example of a layer
rebuilt on the same input, the seed of a SeedGenerator reset to the same state, the same
layer's output read by two checks. OpenVINO compiles a graph without parameters into a
program that always returns the same values, so the first compilation's values stand for any
later compilation of a graph with the same content: every op (type, version, attributes), its
inputs, its outputs' element types and shapes, every constant's bytes, the results' order, the
device and the compile config.

Graphs that draw randomness are compiled every time: OpenVINO's random ops (RandomUniform,
Multinomial) produce their values from seeds held as attributes, and a graph whose values
come from a stateful op (ReadValue, Assign) or an attribute with no stable text is compiled
as Keras would. The checks of seeded masks then observe OpenVINO itself, never a copy.
"""

from __future__ import annotations

import collections
import hashlib
import threading
from typing import Any

import numpy as np

# Ops whose values are not a function of the graph's content alone.
COMPILED_EVERY_TIME = frozenset({"RandomUniform", "Multinomial", "ReadValue", "Assign"})
MAX_GRAPHS = 4096  # least recently read first out; the suites' values are small (a few kB each)
MAX_BYTES = 256 * 2**20


class ReplayedModel:
    """What Keras calls on a compiled model, `model({})[i]`, answered with the values of the
    first compilation of the same graph (a copy each time: Keras may keep the array)."""

    def __init__(self, values: list[np.ndarray]):
        self._values = values

    def __call__(self, inputs: Any = None, *args: Any, **kwargs: Any) -> list[np.ndarray]:
        if inputs:
            raise ValueError("a replayed OpenVINO conversion takes no inputs")
        return [value.copy() for value in self._values]


class ConversionReplay:
    """A stand-in for `compile_model` in Keras's openvino core: compiles a graph it has not
    seen, replays the values of one it has. Keras reads values from more than one thread
    (fit/evaluate's callbacks run in a thread pool), so the table is read and written under a
    lock; two threads compiling the same new graph at once both compile it."""

    def __init__(self, compile_model):
        self.compile_model = compile_model
        self._values: collections.OrderedDict[bytes, list[np.ndarray]] = collections.OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.compiled = 0
        self.replayed = 0

    def __call__(self, model, *args, **kwargs):
        key = graph_key(model, (args, sorted(kwargs.items())))
        if key is None:
            with self._lock:
                self.compiled += 1
            return self.compile_model(model, *args, **kwargs)
        with self._lock:
            found = self._values.get(key)
            if found is not None:
                self._values.move_to_end(key)
                self.replayed += 1
                return ReplayedModel(found)
            self.compiled += 1
        compiled = self.compile_model(model, *args, **kwargs)
        result = compiled({})
        values = [np.array(result[index]) for index in range(len(compiled.outputs))]
        with self._lock:
            self._keep(key, values)
        return ReplayedModel(values)

    def _keep(self, key: bytes, values: list[np.ndarray]) -> None:
        if key in self._values:  # another thread compiled it meanwhile
            return
        self._values[key] = values
        self._bytes += sum(value.nbytes for value in values)
        while len(self._values) > MAX_GRAPHS or self._bytes > MAX_BYTES:
            _, dropped = self._values.popitem(last=False)
            self._bytes -= sum(value.nbytes for value in dropped)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._bytes = 0


def graph_key(model, compile_arguments) -> bytes | None:
    """A digest of everything a compilation of `model` with `compile_arguments` (the device and
    config) depends on, or None when its values may differ between two compilations
    (parameters, sinks, random or stateful ops) or a part has no stable text (an attribute
    naming an object's address, a constant numpy cannot view as bytes)."""
    if model.get_parameters() or model.get_sinks():
        return None
    ops = model.get_ordered_ops()
    position = {op.get_instance_id(): index for index, op in enumerate(ops)}
    digest = hashlib.blake2b(digest_size=32)
    digest.update(repr(compile_arguments).encode())
    for op in ops:
        kind = op.get_type_name()
        if kind in COMPILED_EVERY_TIME or "Random" in kind:
            return None
        sources = [
            (position[source.get_node().get_instance_id()], source.get_index())
            for source in (port.get_source_output() for port in op.inputs())
        ]
        outputs = [(str(out.get_element_type()), str(out.get_partial_shape())) for out in op.outputs()]
        if kind == "Constant":  # its attributes are its element type and shape: its output's
            try:
                data = np.ascontiguousarray(op.data).reshape(-1).view(np.uint8)
            except (RuntimeError, TypeError, ValueError):
                return None
            digest.update(repr((kind, outputs, data.size)).encode())
            digest.update(data.data)
            continue
        attributes = repr(sorted(op.get_attributes().items()))
        if " at 0x" in attributes or "..." in attributes:
            return None
        digest.update(repr((kind, op.get_type_info().version_id, sources, outputs, attributes)).encode())
    digest.update(repr([position[result.get_instance_id()] for result in model.get_results()]).encode())
    return digest.digest()


def install(core_module) -> ConversionReplay | None:
    """Replace `compile_model` in Keras's openvino core (the one name its convert_to_numpy
    compiles with) by a ConversionReplay around it; the installed one if it is there already;
    None on a Keras whose core has no such name (nothing replaced)."""
    current = getattr(core_module, "compile_model", None)
    if isinstance(current, ConversionReplay):
        return current
    if current is None:
        return None
    replay = ConversionReplay(current)
    core_module.compile_model = replay
    return replay
