"""Hand-made run records for the report tests: small, schema-shaped, with the v3 test fields
("deviation", "first_line") or their v2 form (a flattened "reason"), and hostile texts on demand."""

from __future__ import annotations

import copy
import json
import pathlib

from layercontract.reports import merge
from layercontract.reports import records as run_records

FIT = "TRAIN.FIT_IS_TRAINING"
FIT_TEST = "suites/test_train_fit.py::test_fit_runs_layers_in_training_mode"
JAX_DEVIATION = {
    "kind": "upstream-bug",
    "observed": "layers the model's call() invokes without `training` receive None",
    "reason": "The JAX trainer runs Layer.stateless_call(..., training=True), which bypasses __call__.",
    "upstream": "keras-team/keras#23364",
    "upstream_url": "https://github.com/keras-team/keras/issues/23364",
    "when": ["keras < 3.16"],
    "file": "backends/expectations/keras-jax.toml",
    "entry": 2,
    "test": FIT_TEST,
}
TRACEBACK = (
    "K = <module 'keras' from '/venv/keras/__init__.py'>\n\n"
    "    def test_fit_runs_layers_in_training_mode(K):\n"
    ">       assert layer.moving_mean_updated, 'BatchNormalization did not update its moving mean'\n"
    "E       AssertionError: BatchNormalization did not update its moving mean\n"
    "E       assert False\n\n"
    "suites/test_train_fit.py:40: AssertionError"
)


def describe(dev: dict) -> str:
    cond = f" (when {'; '.join(dev['when'])})" if dev.get("when") else ""
    ref = f" [{dev['upstream']}]" if dev.get("upstream") else ""
    return f"{dev['kind']}{cond}: {dev['observed']} — {dev['reason']}{ref}"


def make_row(nodeid, clauses, outcome, message="", deviation=None, v3=True, first_line=None) -> dict:
    row = {
        "nodeid": nodeid,
        "clauses": list(clauses),
        "outcome": outcome,
        "duration_s": 0.01,
        "message": message,
        "reason": describe(deviation) if deviation else None,
        "falsifying_example": None,
        "rerun": f"python -m pytest --pyargs layercontract.{nodeid.replace('.py', '').replace('/', '.')} "
        f"--backend BACKEND",
    }
    if v3:
        row["deviation"] = deviation
        row["first_line"] = (
            first_line if first_line is not None else (run_records.first_line(message) if outcome != "pass" else "")
        )
    return row


def record(backend="keras-jax", keras="3.15.1", tests=None, v3=True, started="2026-11-30T10:00:00+00:00") -> dict:
    """A complete record of `backend` at `keras` (the reference records reference_impl)."""
    if tests is None:
        tests = default_tests(backend, v3=v3)
    for t in tests:
        t["rerun"] = t["rerun"].replace("BACKEND", backend)
    versions = (
        {"reference_impl": "0.1.0", "numpy": "2.4.6"}
        if backend == "reference"
        else {"keras": keras, "numpy": "2.4.6", "jax": "0.10.2"}
    )
    counts: dict = {}
    clauses: dict = {}
    for t in tests:
        counts[t["outcome"]] = counts.get(t["outcome"], 0) + 1
        for cid in t["clauses"]:
            clauses.setdefault(cid, []).append(t["outcome"])
    data = {
        "schema": "layercontract-run/3" if v3 else "layercontract-run/2",
        "status": "complete",
        "complete": True,
        "stop_reason": None,
        "backend": backend,
        "edition": "keras3",
        "capabilities": ["fit"],
        "versions": versions,
        "harness": {"layercontract": "0.1.0", "pytest": "9.0.0", "hypothesis": "6.0", "pytest-xdist": None},
        "python": "3.11.7",
        "platform": "Linux",
        "git_commit": "0123456789abcdef",
        "git_dirty": False,
        "hypothesis": {"profile": "ci", "seed": None, "derandomize": True, "max_examples": 10},
        "options": {"fault": None, "expectations": None, "test_timeout": None, "xdist_workers": None},
        "invocation": [],
        "started": started,
        "finished": started,
        "duration_s": 1.5,
        "exit_status": 0,
        "selected": len(tests),
        "counts": counts,
        "clauses": {cid: {"outcome": merge.clause_outcome(outs), "tests": len(outs)} for cid, outs in clauses.items()},
        "tests": sorted(tests, key=lambda t: t["nodeid"]),
    }
    if v3:
        data.update(contract_version=1, requested_backend=backend)
    return data


def default_tests(backend: str, v3=True) -> list[dict]:
    """Four tests of TRAIN.FIT_IS_TRAINING (keras-jax: two deviate, two pass) and one BUILD.LAZY."""
    deviates = backend == "keras-jax"
    rows = []
    for param in ("fit", "train_on_batch"):
        rows.append(
            make_row(
                f"{FIT_TEST}[{param}]",
                [FIT],
                "expected-deviation" if deviates else "pass",
                TRACEBACK if deviates else "",
                JAX_DEVIATION if deviates else None,
                v3=v3,
            )
        )
    for param in ("ComplexModel", "GoodModel"):
        rows.append(
            make_row(f"suites/test_tutorial_models_batchnorm.py::test_forwarding[{param}]", [FIT], "pass", v3=v3)
        )
    rows.append(make_row("suites/test_build.py::test_lazy", ["BUILD.LAZY"], "pass", v3=v3))
    return rows


def loaded(*records) -> list[merge.Loaded]:
    return [merge.Loaded(pathlib.Path(f"{r['backend']}-{r['versions'].get('keras', 'x')}.json"), r) for r in records]


def write(path, data) -> pathlib.Path:
    path = pathlib.Path(path)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def as_v2(data: dict) -> dict:
    """The same record as schema v2 (what the current writer validates), v3 fields dropped."""
    data = copy.deepcopy(data)
    data["schema"] = "layercontract-run/2"
    for key in ("contract_version", "requested_backend"):
        data.pop(key, None)
    for t in data["tests"]:
        t.pop("deviation", None)
        t.pop("first_line", None)
    return data
