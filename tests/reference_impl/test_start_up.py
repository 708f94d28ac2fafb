"""The reference backend starts without importing ml_dtypes (0.55 s of CPU, more than the rest
of its start-up): numpy's bfloat16 is registered only when a mixed_bfloat16 policy asks for it."""

import subprocess
import sys

from tests._env import clean_env

PROGRAM = """
import sys
import numpy as np
from layercontract.backends.reference import ReferenceBackend

K = ReferenceBackend().load()
dense = K.layers.Dense(2)
dense(np.ones((1, 3), "float32"))
print("ml_dtypes" in sys.modules, end=" ")
mixed = K.layers.Dense(2, dtype="mixed_bfloat16")
y = mixed(np.ones((1, 3), "float32"))
print("ml_dtypes" in sys.modules, y.dtype)
"""


def test_the_reference_imports_ml_dtypes_only_for_a_bfloat16_policy():
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=120, env=clean_env()
    )
    assert result.returncode == 0, result.stderr
    before, after, dtype = result.stdout.split()
    assert (before, after, dtype) == ("False", "True", "bfloat16"), result.stdout
