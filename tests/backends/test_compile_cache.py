"""The compiled-program caches of the keras-jax and keras-openvino adapters (backends/keras3.py):
where they live, how $LAYERCONTRACT_COMPILE_CACHE moves or switches them off, and (integration)
that a second keras-jax process reads the programs the first compiled instead of compiling."""

import json
import subprocess
import sys

import pytest

from layercontract.backends import keras3
from layercontract.spec.harness import overlay
from tests._env import clean_env


def test_compile_cache_dir_is_per_framework_version_under_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv(keras3.ENV_COMPILE_CACHE, raising=False)
    monkeypatch.setenv(overlay.ENV_CACHE, str(tmp_path / "keras"))
    found = keras3.compile_cache_dir("numpy")
    assert found.parent == tmp_path / "compiled" and found.name.startswith("numpy-") and found.name != "numpy-unknown"


@pytest.mark.parametrize("value", ["", "0", "off", "OFF", "no", "false"])
def test_compile_cache_can_be_switched_off(monkeypatch, value):
    monkeypatch.setenv(keras3.ENV_COMPILE_CACHE, value)
    assert keras3.compile_cache_dir("jax") is None


def test_compile_cache_root_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(keras3.ENV_COMPILE_CACHE, str(tmp_path))
    assert keras3.compile_cache_dir("numpy").parent == tmp_path


PROBE = """
import json, numpy as np
from jax import monitoring
from layercontract.backends.keras3 import KerasJax
events = {}
monitoring.register_event_listener(lambda e, **_: events.__setitem__(e, events.get(e, 0) + 1))
adapter = KerasJax(); K = adapter.load(); adapter.set_seed(1)
out = adapter.to_numpy(K.layers.Dense(3)(np.ones((2, 4), "float32")))
print(json.dumps({"hits": events.get("/jax/compilation_cache/cache_hits", 0),
                  "misses": events.get("/jax/compilation_cache/cache_misses", 0), "sum": float(out.sum())}))
"""


@pytest.mark.integration
def test_a_second_keras_jax_process_reads_the_compiled_programs_of_the_first(tmp_path):
    env = clean_env(**{keras3.ENV_COMPILE_CACHE: str(tmp_path)})

    def probe():
        result = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    first, second = probe(), probe()
    assert first["misses"] > 0 and first["hits"] == 0
    assert second["misses"] == 0 and second["hits"] == first["misses"]
    assert second["sum"] == first["sum"]  # the same seeded Dense, the same result from the cached programs
    assert any((tmp_path).glob("jax-*/*-cache"))
