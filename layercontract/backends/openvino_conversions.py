"""keras-openvino's eager values read back once per graph content.

Keras on OpenVINO runs eager ops lazily: a tensor is an OpenVINO graph of constants, and each
value read back (keras/src/backend/openvino/core.py `convert_to_numpy`, Keras 3.15.1; the
Dropout seeds in random.py are read the same way) becomes a one-result model of that graph,
compiled (`compile_model`: ~13 ms of CPU for the smallest graph, more for longer ones) and run
once. The suites build the same graph many times: a generated case's layer rebuilt on the
same input, a seed generator's state after set_seed, one output read by several checks.
OpenVINO compiles a graph without parameters into a program whose first run always returns the
same values, so the values of the first compilation stand for those of any later compilation of
a graph with the same content: every op (type, version, attributes), its inputs, its outputs'
element types and shapes, every constant's bytes, the results' order, the device and the
compile config.

A graph with an op that takes a seed (RandomUniform, Multinomial: the attributes global_seed,
op_seed) is compiled every time, so that the checks of seeded masks observe OpenVINO itself,
never a copy; so is a graph with parameters or sinks (state), or with an attribute whose value
is not plain data.

This module adds no literal to hypothesis's pool of the constants of the local modules a run
has imported (ints of 100 or more, nonzero floats, strings of 1-20 characters), which the
generated cases are drawn with: it uses only literals the harness already has, so the cases
stay the ones the suites generated before it.
"""

from __future__ import annotations

import collections
import hashlib
import threading
from typing import Any

import numpy as np

MAX_GRAPHS = 1024  # least recently read first out
MAX_BYTES = 256 * 1024 * 1024
PLAIN = (str, int, float, bool, type(None))


class ReplayedModel:
    """What Keras calls on a compiled model, `model({})[i]`, answered with the values of the
    first compilation of the same graph (a copy each time: Keras may keep the array)."""

    def __init__(self, values: list[np.ndarray]):
        self._values = values

    def __call__(self, inputs: Any = None, *args: Any, **kwargs: Any) -> list[np.ndarray]:
        if inputs or args or kwargs:
            raise TypeError("a replayed OpenVINO conversion takes no inputs or options")
        return [value.copy() for value in self._values]


class ConversionReplay:
    """A stand-in for `compile_model` in Keras's openvino core: compiles and runs a graph it
    has not seen, replays the values of one it has. Keras reads values from more than one
    thread (fit/evaluate's callbacks run in a thread pool), so the table is read and written
    under a lock; two threads compiling the same new graph at once both compile it."""

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


def _plain(value) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_plain(item) for item in value)
    return isinstance(value, PLAIN)


def graph_key(model, compile_arguments) -> bytes | None:
    """A digest of everything a compilation of `model` with `compile_arguments` (the device and
    config) depends on, or None when two compilations may differ or must both be observed: a
    graph with parameters or sinks, an op taking a seed, an attribute that is not plain data,
    a constant numpy cannot view as bytes."""
    from openvino import op as ov_op

    if model.get_parameters() or model.get_sinks():
        return None
    ops = model.get_ordered_ops()
    position = {op.get_instance_id(): index for index, op in enumerate(ops)}
    digest = hashlib.blake2b(digest_size=32)
    digest.update(repr(compile_arguments).encode())
    for op in ops:
        outputs = [(str(out.get_element_type()), str(out.get_partial_shape())) for out in op.outputs()]
        if isinstance(op, ov_op.Constant):  # its attributes are its output's element type and shape
            try:
                data = np.ascontiguousarray(op.data).reshape(-1).view(np.uint8)
            except (RuntimeError, TypeError, ValueError):
                return None
            digest.update(repr((outputs, data.size)).encode())
            digest.update(data.data)
            continue
        attributes = sorted(op.get_attributes().items())
        if any("seed" in name for name, _ in attributes) or not _plain([value for _, value in attributes]):
            return None
        sources = [
            (position[source.get_node().get_instance_id()], source.get_index())
            for source in (port.get_source_output() for port in op.inputs())
        ]
        info = op.get_type_info()
        digest.update(repr((info.name, info.version_id, sources, outputs, attributes)).encode())
    digest.update(repr([position[result.get_instance_id()] for result in model.get_results()]).encode())
    return digest.digest()


def install(core_module) -> ConversionReplay | None:
    """Replace `compile_model` in Keras's openvino core (the one name its convert_to_numpy
    compiles with) by a ConversionReplay around it; the installed one if it is there already;
    None on a Keras whose core has no such name (nothing replaced)."""
    try:
        current = core_module.compile_model
    except AttributeError:
        return None
    if isinstance(current, ConversionReplay):
        return current
    replay = ConversionReplay(current)
    core_module.compile_model = replay
    return replay
