"""keras-openvino's eager conversions read back once per graph content
(backends/openvino_conversions.py): the replay table (a stand-in compile, no OpenVINO), the
graph key on real OpenVINO graphs, and (integration) the suites' values on keras-openvino equal
to a fresh compilation's wherever one was replayed."""

import json
import subprocess
import sys
import threading
import types

import numpy as np
import pytest

from layercontract.backends import openvino_conversions as conversions
from layercontract.spec.harness import check_ids
from tests._env import clean_env


class FakeCompiled:
    """What Keras reads of a compiled model: `outputs` and `model({})[i]`."""

    def __init__(self, values):
        self.outputs = list(values)
        self._values = values

    def __call__(self, inputs):
        return {index: value for index, value in enumerate(self._values)}


class FakeCompile:
    def __init__(self):
        self.calls = []

    def __call__(self, model, device, config=None):
        self.calls.append((model, device, config))
        return FakeCompiled([np.full(3, float(len(self.calls)), dtype="float32")])


@pytest.fixture
def replay(monkeypatch):
    """A ConversionReplay whose graph key is the fake model itself (None: never replayed)."""
    monkeypatch.setattr(conversions, "graph_key", lambda model, arguments: model and (model, repr(arguments)))
    return conversions.ConversionReplay(FakeCompile())


def read(compiled):
    return compiled({})[0]


def test_a_graph_seen_before_is_replayed_from_its_first_compilation(replay):
    first = read(replay("a", "CPU", config={"hint": "f32"}))
    again = read(replay("a", "CPU", config={"hint": "f32"}))
    np.testing.assert_array_equal(again, first)
    assert len(replay.compile_model.calls) == 1 and (replay.compiled, replay.replayed) == (1, 1)


def test_another_graph_or_another_config_is_compiled(replay):
    read(replay("a", "CPU", config={"hint": "f32"}))
    other_graph = read(replay("b", "CPU", config={"hint": "f32"}))
    other_config = read(replay("a", "CPU", config={"hint": "bf16"}))
    assert len(replay.compile_model.calls) == 3
    assert other_graph[0] == 2.0 and other_config[0] == 3.0


def test_a_graph_without_a_key_is_compiled_every_time_and_its_compiled_model_returned(replay):
    first = replay(None, "CPU")
    second = replay(None, "CPU")
    assert isinstance(first, FakeCompiled) and isinstance(second, FakeCompiled)
    assert len(replay.compile_model.calls) == 2 and replay.replayed == 0


def test_each_read_is_a_copy_the_caller_may_change(replay):
    first = read(replay("a", "CPU"))
    first[:] = -1.0
    np.testing.assert_array_equal(read(replay("a", "CPU")), np.full(3, 1.0, dtype="float32"))


def test_a_replayed_model_takes_no_inputs(replay):
    replayed = replay("a", "CPU")
    with pytest.raises(TypeError, match="takes no inputs"):
        replayed({"x": np.ones(3)})


def test_the_least_recently_read_graph_leaves_first_past_the_bounds(replay, monkeypatch):
    monkeypatch.setattr(conversions, "MAX_GRAPHS", 2)
    for name in ("a", "b"):
        replay(name, "CPU")
    replay("a", "CPU")  # now b is the least recently read
    replay("c", "CPU")
    replay("a", "CPU")
    replay("b", "CPU")
    assert [call[0] for call in replay.compile_model.calls] == ["a", "b", "c", "b"]

    monkeypatch.setattr(conversions, "MAX_GRAPHS", 1024)
    monkeypatch.setattr(conversions, "MAX_BYTES", 12)  # one float32 value of 3 elements
    replay.clear()
    for name in ("a", "b", "a"):
        replay(name, "CPU")
    assert [call[0] for call in replay.compile_model.calls][-3:] == ["a", "b", "a"]


def test_threads_reading_at_once_get_the_values_of_one_compilation(replay):
    results = []

    def reader():
        for _ in range(200):
            results.append(float(read(replay("shared", "CPU"))[0]))

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    compiled = len(replay.compile_model.calls)
    assert len(results) == 800 and set(results) <= {float(n) for n in range(1, compiled + 1)}
    assert replay.compiled == compiled and replay.compiled + replay.replayed == 800


def test_install_wraps_compile_model_once_and_leaves_a_core_without_it_alone():
    original = FakeCompile()
    core = types.SimpleNamespace(compile_model=original)
    installed = conversions.install(core)
    assert isinstance(core.compile_model, conversions.ConversionReplay) and installed.compile_model is original
    assert conversions.install(core) is installed
    assert conversions.install(types.SimpleNamespace()) is None


# ------------------------------------------------------------ the key, on real OpenVINO graphs
@pytest.fixture(scope="module")
def ov():
    import openvino
    import openvino.opset16 as opset

    return types.SimpleNamespace(Model=openvino.Model, opset=opset)


def _model(ov, results, parameters=()):
    return ov.Model(results=[r.output(0) if hasattr(r, "output") else r for r in results], parameters=list(parameters))


def _scaled(ov, values, factor=2.0, dtype="float32"):
    return ov.opset.multiply(
        ov.opset.constant(np.asarray(values, dtype=dtype)), ov.opset.constant(np.asarray(factor, dtype=dtype))
    )


ARGS = (("CPU",), [("config", {"INFERENCE_PRECISION_HINT": "f32"})])


@pytest.mark.integration
def test_graphs_built_twice_with_the_same_content_have_one_key(ov):
    first = conversions.graph_key(_model(ov, [_scaled(ov, [1.0, 2.0])]), ARGS)
    again = conversions.graph_key(_model(ov, [_scaled(ov, [1.0, 2.0])]), ARGS)
    assert first is not None and first == again


def _constant(ov, values):
    return ov.opset.constant(np.asarray(values))


def _matmul(ov, transpose_b):
    square = _constant(ov, np.float32([[1, 2], [3, 4]]))
    return ov.opset.matmul(square, _constant(ov, np.float32([[5, 6], [7, 8]])), False, transpose_b)


@pytest.mark.integration
@pytest.mark.parametrize(
    "differing",
    ["constant value", "dtype of the same bytes", "shape of the same bytes", "op", "attribute", "config"],
)
def test_graphs_differing_in_one_part_have_different_keys(ov, differing):
    floats = np.float32([1.0, 2.0])
    pairs = {
        "constant value": (_scaled(ov, [1.0, 2.0]), _scaled(ov, [1.0, 2.5])),
        "dtype of the same bytes": (_constant(ov, floats), _constant(ov, floats.view(np.int32))),
        "shape of the same bytes": (_constant(ov, floats), _constant(ov, floats.reshape(2, 1))),
        "op": (
            ov.opset.multiply(_constant(ov, floats), _constant(ov, np.float32(2))),
            ov.opset.add(_constant(ov, floats), _constant(ov, np.float32(2))),
        ),
        "attribute": (_matmul(ov, False), _matmul(ov, True)),
        "config": (_scaled(ov, [1.0, 2.0]), _scaled(ov, [1.0, 2.0])),
    }
    first, second = pairs[differing]
    other_arguments = (("CPU",), [("config", {"INFERENCE_PRECISION_HINT": "bf16"})]) if differing == "config" else ARGS
    one = conversions.graph_key(_model(ov, [first]), ARGS)
    other = conversions.graph_key(_model(ov, [second]), other_arguments)
    assert one is not None and other is not None and one != other


@pytest.mark.integration
def test_the_results_order_is_part_of_the_key(ov):
    a, b = _scaled(ov, [1.0]), _scaled(ov, [2.0])
    assert conversions.graph_key(_model(ov, [a, b]), ARGS) != conversions.graph_key(_model(ov, [b, a]), ARGS)


@pytest.mark.integration
def test_a_seeded_random_op_or_a_parameter_means_no_key(ov):
    shape = ov.opset.constant(np.int64([4]))
    low, high = ov.opset.constant(np.float32(0)), ov.opset.constant(np.float32(1))
    uniform = ov.opset.random_uniform(shape, low, high, "f32", 3, 4)
    assert conversions.graph_key(_model(ov, [uniform]), ARGS) is None
    parameter = ov.opset.parameter([2], np.float32)
    assert conversions.graph_key(_model(ov, [ov.opset.multiply(parameter, low)], [parameter]), ARGS) is None


# ------------------------------------------- replayed values against a fresh compilation, on Keras
CHECK_PLUGIN = """
import json, os, numpy as np
from layercontract.backends import openvino_conversions as conversions
seen = {"replayed": 0, "mismatches": []}
def pytest_configure(config):
    original = conversions.ConversionReplay.__call__
    def checked(self, model, *args, **kwargs):
        replays_before = self.replayed
        answer = original(self, model, *args, **kwargs)
        if self.replayed > replays_before:
            seen["replayed"] += 1
            compiled = self.compile_model(model, *args, **kwargs)
            result = compiled({})
            fresh = [np.array(result[i]) for i in range(len(compiled.outputs))]
            if not all(a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True) for a, b in zip(fresh, answer({}))):
                seen["mismatches"].append(os.environ.get("PYTEST_CURRENT_TEST"))
        return answer
    conversions.ConversionReplay.__call__ = checked
def pytest_unconfigure(config):
    with open(os.environ["REPLAY_CHECK_OUT"], "w") as out:
        json.dump(seen, out)
"""


@pytest.mark.integration
def test_every_replayed_value_of_the_suites_equals_a_fresh_compilation_on_keras_openvino(tmp_path):
    """The modules that rebuild the same graphs most (generated cases, state machines)."""
    (tmp_path / "replay_check.py").write_text(CHECK_PLUGIN, encoding="utf-8")
    out = tmp_path / "replay_check.json"
    modules = ["layercontract.suites.test_stateful", "layercontract.suites.test_differential"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *check_ids.pytest_location_args(), "-q", "-p", "replay_check"]
        + ["--pyargs", *modules, "--backend", "keras-openvino"],
        cwd=tmp_path,
        env=clean_env(PYTHONPATH=str(tmp_path), REPLAY_CHECK_OUT=str(out)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    seen = json.loads(out.read_text(encoding="utf-8"))
    assert seen["replayed"] > 50 and seen["mismatches"] == [], seen
