"""`layercontract bench`: per backend wall, CPU, peak RSS and where the time goes, beside a
baseline; from a run of its own or from the records a run-many left (CI)."""

import json
import pathlib

from layercontract.spec.harness.commands import bench
from tests import forked
from tests._env import clean_env
from tests.harness.commands.test_run_many import ROOT

SUITE = "suites/test_build.py"


def layercontract(*args, timeout=300):
    return forked.cli(*args, cwd=ROOT, env=clean_env(), timeout=timeout)


def test_bench_runs_a_backend_and_compares_with_the_baseline(tmp_path):
    baseline = tmp_path / "baseline.json"
    baseline.write_text(
        json.dumps(
            {
                "schema": bench.SCHEMA,
                "measured": "2026-12-06T09:00:00+00:00",
                "note": "test",
                "machine": {"cores": 2, "cpu": "a CPU", "python": "3.11.7"},
                "backends": {"reference": {"wall_s": 100.0, "cpu_s": 100.0, "peak_rss_mib": 1000.0, "tests": 1}},
            }
        )
    )
    out = tmp_path / "out"
    result = layercontract(
        "bench",
        "reference",
        "-s",
        SUITE,
        "--out",
        str(out),
        "--baseline",
        str(baseline),
        "--json",
        str(tmp_path / "bench.json"),
        "--save-baseline",
        str(tmp_path / "new.json"),
    )
    text = result.stdout + result.stderr
    assert result.returncode == 0, text
    assert (out / "reference.usage").is_file()
    data = json.loads((tmp_path / "bench.json").read_text())
    assert data["schema"] == bench.SCHEMA and data["machine"]["cores"]
    (row,) = data["backends"]
    assert row["backend"] == "reference" and row["tests"] > 0
    assert row["cpu_s"] > 0 and 0 < row["peak_rss_mib"] < 1024 and row["wall_s"] > 0
    assert row["cpu_x_ref"] == 1.0 and row["wall_x_ref"] == 1.0
    assert list(row["modules"]) == ["test_build"]
    assert row["phases"]["startup_s"] > 0 and row["phases"]["tests_s"] > 0
    assert row["compile"] is None  # no jax in the reference's process
    assert row["baseline"] == {"wall_s": 100.0, "cpu_s": 100.0, "peak_rss_mib": 1000.0, "tests": 1}
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("reference "))
    assert "100.0" in line and "-9" in line  # beside the baseline, with the change in CPU
    assert "baseline" in result.stdout and "a CPU" in result.stdout
    saved = json.loads((tmp_path / "new.json").read_text())
    assert saved["schema"] == bench.SCHEMA and saved["backends"]["reference"]["cpu_s"] == row["cpu_s"]

    # CI: the same figures from the records run-many left, without running anything
    again = layercontract(
        "bench",
        "--from-records",
        str(out / "reference.json"),
        "--baseline",
        str(baseline),
        "--json",
        str(tmp_path / "again.json"),
    )
    assert again.returncode == 0, again.stdout + again.stderr
    (row2,) = json.loads((tmp_path / "again.json").read_text())["backends"]
    assert {k: row2[k] for k in ("cpu_s", "peak_rss_mib", "modules")} == {
        k: row[k] for k in ("cpu_s", "peak_rss_mib", "modules")
    }


def test_bench_needs_backends_or_records(tmp_path):
    assert layercontract("bench").returncode == 2
    assert layercontract("bench", "--from-records", str(tmp_path / "missing.json")).returncode == 2


def test_the_committed_baseline_names_its_machine_and_every_builtin_backend():
    from layercontract.spec.harness import registry

    data = json.loads(pathlib.Path(bench.default_baseline()).read_text())
    assert data["schema"] == bench.SCHEMA
    assert {"cores", "cpu", "python"} <= set(data["machine"])
    assert set(registry.BUILTIN) <= set(data["backends"])
    for name, row in data["backends"].items():
        assert row["cpu_s"] > 0 and row["wall_s"] > 0 and row["peak_rss_mib"] > 0, name
