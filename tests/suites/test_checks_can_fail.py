"""Checks the fault library cannot reach still have to be shown to fail.

Faults patch reference_impl in place, so they cannot break: the DIFF clauses (their other side
is the same patched reference), the MODE clauses (the reference has no compiled mode) and the
keras2-only clauses (the reference is edition keras3). Here each is run against a deliberately
broken *adapter* (importable as tests.suites.test_checks_can_fail:Name) and must fail.
"""

import json
import os
import pathlib
from types import SimpleNamespace

import numpy as np
import pytest

from layercontract.backends.reference import ReferenceBackend
from layercontract.spec.harness import clause_citations
from tests import forked

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _with_layers(namespace, **replacements):
    layers = SimpleNamespace(
        **{k: getattr(namespace.layers, k) for k in dir(namespace.layers) if not k.startswith("_")}
    )
    for name, cls in replacements.items():
        setattr(layers, name, cls)
    fields = {k: getattr(namespace, k) for k in dir(namespace) if not k.startswith("_")}
    return SimpleNamespace(**{**fields, "layers": layers})


class _Skewed(ReferenceBackend):
    def replacements(self, ns):
        raise NotImplementedError

    def load(self):
        ns = super().load()
        return _with_layers(ns, **self.replacements(ns))


class DenseOffByOneThousandth(_Skewed):
    name = "reference-dense-skewed"

    def replacements(self, ns):
        class Dense(ns.layers.Dense):
            def call(self, inputs):
                return ns.ops.add(super().call(inputs), np.float32(1e-3))

        return {"Dense": Dense}


class BatchNormOutputScaled(_Skewed):
    name = "reference-batchnorm-skewed"

    def replacements(self, ns):
        class BatchNormalization(ns.layers.BatchNormalization):
            def call(self, inputs, training=None):
                return ns.ops.multiply(super().call(inputs, training=training), np.float32(1.001))

        return {"BatchNormalization": BatchNormalization}


class BatchNormMomentumNudged(_Skewed):
    name = "reference-momentum-skewed"

    def replacements(self, ns):
        class BatchNormalization(ns.layers.BatchNormalization):
            def __init__(self, momentum=0.99, **kwargs):
                super().__init__(momentum=momentum + 0.005, **kwargs)

        return {"BatchNormalization": BatchNormalization}


class ConcatenateReversed(_Skewed):
    name = "reference-concatenate-skewed"

    def replacements(self, ns):
        class Concatenate(ns.layers.Concatenate):
            def call(self, inputs):
                return super().call(list(inputs)[::-1])

        return {"Concatenate": Concatenate}


class SgdStepTooLong(ReferenceBackend):
    name = "reference-sgd-skewed"

    def load(self):
        ns = super().load()

        class SGD(ns.optimizers.SGD):
            def __init__(self, learning_rate=0.01):
                super().__init__(learning_rate=learning_rate * 1.01)

        fields = {k: getattr(ns, k) for k in dir(ns) if not k.startswith("_")}
        return SimpleNamespace(**{**fields, "optimizers": SimpleNamespace(SGD=SGD)})


class CompiledModeRebuildsAndDropsTraining(ReferenceBackend):
    """A 'compiled mode' with the two classic graph-mode bugs: rebuilding on every trace and
    freezing the inference branch."""

    name = "reference-broken-compiled"
    capabilities = ReferenceBackend.capabilities | {"compiled"}

    def compiled_call(self, layer, x, training):
        if layer.built:
            layer.built = False  # a retrace that builds again
        return self.to_numpy(layer(x))  # `training` lost


class ClaimsKeras2(ReferenceBackend):
    """The reference (Keras 3 behaviour) claiming edition keras2: every keras2-only check runs
    and must fail."""

    name = "reference-claiming-keras2"
    edition = "keras2"


CASES = {
    "DenseOffByOneThousandth": ("suites/test_differential.py", {"DIFF.DENSE", "DIFF.TUTORIAL_MODELS", "DIFF.FIT_STEP"}),
    "BatchNormOutputScaled": ("suites/test_differential.py", {"DIFF.BATCHNORM", "DIFF.TUTORIAL_MODELS"}),
    "BatchNormMomentumNudged": ("suites/test_differential.py", {"DIFF.MOVING_STATISTICS"}),
    "ConcatenateReversed": ("suites/test_differential.py", {"DIFF.CONCATENATE"}),
    "SgdStepTooLong": ("suites/test_differential.py", {"DIFF.FIT_STEP"}),
    "CompiledModeRebuildsAndDropsTraining": (
        "suites/test_mode.py",
        {"MODE.COMPILED_BUILD_ONCE", "MODE.COMPILED_DROPOUT", "MODE.COMPILED_BATCHNORM"},
    ),
    "ClaimsKeras2": (
        "suites",
        {
            "INPUT.DTYPE_CHECKED_BEFORE_AUTOCAST.K2",
            "TRAIN.INNER_EXPLICIT_SCOPE.K2",
            "TRAIN.FIT_NO_TRAINING_PARAM.K2",
            "BUILD.EXPLICIT_BUILD_NEEDS_SUPER.K2",
            "BUILD.WEIGHTS_ORDER_TRAINABLE_FIRST.K2",
            "TRAIN.DROPOUT_SEED_WITH_GLOBAL.K2",
            "TRAIN.DROPOUT_RATE_ONE.K2",
            "BUILD.STATE_AFTER_BUILD_TRACKED.K2",
            # issue 19, clusters 1-2
            "CALL.NON_TENSOR_POSITIONAL_PASSED.K2",
            "BUILD.MODEL_BUILD_TRACES_CALL.K2",
            "BUILD.OUTPUT_SHAPE_BUILDS.K2",
            "BUILD.ADD_WEIGHT_POSITIONAL.K2",
            # issue 19, clusters 0-2 (users' questions)
            "CALL.PYTHON_NUMBERS_INPUT_SCALARS.K2",
            "SYMBOLIC.OUTPUT_SHAPE_TRACED.K2",
        },
    ),
}


def citing_checks(target: str, clauses) -> list[str]:
    """The checks under `target` that cite any of `clauses`: a clause's outcome comes from
    exactly those checks, so running only them decides "did it fail" the same way."""
    cited = clause_citations.cited_clauses()
    checks = sorted(
        {
            f"layercontract/suites/{check}"
            for cid in clauses
            for check in cited.get(cid, [])
            if f"suites/{check}".startswith(target)
        }
    )
    assert checks, f"no check under {target} cites {sorted(clauses)}"
    return checks


@pytest.mark.parametrize("adapter", list(CASES))
def test_broken_adapter_fails_the_clauses_faults_cannot_reach(tmp_path, adapter):
    target, clauses = CASES[adapter]
    record = tmp_path / "run.json"
    # Only whether the clauses fail matters here: the `faults` profile skips hypothesis's
    # shrinking of failing generated checks (most of their time; no outcome changes).
    result = forked.pytest(
        *citing_checks(target, clauses),
        "-q",
        "-p",
        "no:cacheprovider",
        "--hypothesis-profile",
        "faults",
        "--backend",
        f"tests.suites.test_checks_can_fail:{adapter}",
        "--record",
        str(record),
        cwd=ROOT,
        env=dict(os.environ),
        timeout=300,
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    outcomes = {cid: row["outcome"] for cid, row in json.loads(record.read_text())["clauses"].items()}
    survived = {cid: outcomes.get(cid) for cid in clauses if outcomes.get(cid) != "fail"}
    assert not survived, f"{adapter}: these clauses did not fail: {survived}"
