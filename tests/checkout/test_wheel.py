"""The wheel works on its own: built from the checkout's files, installed into a fresh virtualenv
(with the checkout's dependencies beside it, but not its editable layercontract), and run from an
empty directory - the main job on the reference, a real Keras backend, and the suites through
`pytest --pyargs`. Nothing but `layercontract` is installed at the top level."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

import pytest

from layercontract.reports import records

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOP_LEVEL_FOLDERS = ("spec", "suites", "reports", "backends", "reference_impl")


def _sources(dest: pathlib.Path) -> pathlib.Path:
    """The checkout's files (tracked and new, not ignored) copied to `dest`: the build writes
    build/ and *.egg-info next to pyproject.toml, never into the checkout."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    for name in filter(None, listed.stdout.split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def _dependencies_without_layercontract(dest: pathlib.Path) -> list[pathlib.Path]:
    """The running interpreter's site-packages directories, as directories of links to every
    entry except layercontract itself (its package, dist-info, editable finder) and .pth files
    (the editable install's hook, links to other environments)."""
    snapshots = []
    for i, entry in enumerate(p for p in dict.fromkeys(sys.path) if p.endswith("site-packages")):
        site = pathlib.Path(entry)
        if not site.is_dir():
            continue
        # named site-packages like the original: hypothesis reads the constants of every module
        # outside a ".../site-packages/" path as the user's own code (that cost 11 s per run)
        snapshot = dest / f"site-{i}" / "site-packages"
        snapshot.mkdir(parents=True)
        for item in site.iterdir():
            name = item.name.lower()
            if name.startswith("layercontract") or "__editable__" in name or name.endswith(".pth"):
                continue
            (snapshot / item.name).symlink_to(item)
        snapshots.append(snapshot)
    return snapshots


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    src = _sources(tmp / "src")
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(tmp / "dist"),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp / "dist").glob("layercontract-*.whl")

    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    site = next((venv / "lib").glob("python3*/site-packages"))
    deps = _dependencies_without_layercontract(tmp / "deps")
    (site / "_layercontract_test_dependencies.pth").write_text("".join(f"{d}\n" for d in deps))

    empty = tmp / "empty"
    empty.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "PYTHONPATH",
            "PYTHONHOME",
            "VIRTUAL_ENV",
            "LAYERCONTRACT_BACKEND",
            "PYTEST_ADDOPTS",
            "PYTEST_PLUGINS",
            "PYTEST_XDIST_WORKER",
            # set by the checkout's conftest.py, unknown to a user
            "HYPOTHESIS_STORAGE_DIRECTORY",
            "OPENBLAS_NUM_THREADS",
        )
    }
    env["XDG_CACHE_HOME"] = str(tmp / "cache")
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONDONTWRITEBYTECODE"] = "1"

    def run(*args, timeout=600):
        return subprocess.run(
            [str(a) for a in args], cwd=empty, env=env, capture_output=True, text=True, timeout=timeout
        )

    return wheel, venv, empty, run


def output(result):
    return result.stdout[-4000:] + result.stderr[-4000:]


def test_the_wheel_installs_only_the_layercontract_root_with_its_data(wheel_env):
    wheel, venv, _empty, run = wheel_env
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        (record_name,) = [n for n in names if n.endswith(".dist-info/RECORD")]
        recorded = [line.split(",")[0] for line in zf.read(record_name).decode().splitlines() if line]
    assert {path.split("/")[0] for path in recorded} == {"layercontract", record_name.split("/")[0]}
    for folder in TOP_LEVEL_FOLDERS:
        assert f"layercontract/{folder}/__init__.py" in recorded
    for data in (
        "spec/clauses.toml",
        "spec/SPEC.md",
        "suites/pytest-settings.ini",
        "backends/expectations/keras-numpy.toml",
        "backends/findings.toml",
        "backends/reproducers/k3-max-ndim-message-omits-shape.py",
        "reports/run-record.schema.json",
        "reports/run-record.v3.schema.json",
        "reports/run-record.v2.schema.json",
        "reports/matrix.schema.json",
        "reports/SCHEMA.md",
        "reports/templates/index.html.j2",
    ):
        assert f"layercontract/{data}" in recorded, data
    site = next((venv / "lib").glob("python3*/site-packages"))
    assert not [f for f in TOP_LEVEL_FOLDERS if (site / f).exists()]
    where = run(
        venv / "bin" / "python",
        "-c",
        "import layercontract, importlib.util as u; print(layercontract.__file__); "
        "print([m for m in ('spec', 'suites', 'reports', 'backends', 'reference_impl') if u.find_spec(m)])",
    )
    assert where.returncode == 0, output(where)
    file, top_level = where.stdout.splitlines()
    assert pathlib.Path(file).is_relative_to(site) and top_level == "[]"


def test_layercontract_run_from_an_empty_directory(wheel_env):
    _wheel, venv, empty, run = wheel_env
    result = run(venv / "bin" / "layercontract", "run")
    assert result.returncode == 0, output(result)
    record = records.load(empty / "reports" / "out" / "reference.json")  # relative to the working directory
    assert record["complete"] and record["contract_version"] >= 1 and record["harness"]["layercontract"]
    assert record["hypothesis"]["profile"] == "ci"  # the plugin's settings, with no ini file around
    assert all(t["nodeid"].startswith("suites/test_") for t in record["tests"])
    assert (empty / "reports" / "out" / "reference.html").is_file()
    assert sorted(p.name for p in empty.iterdir()) == ["reports"]  # hypothesis's caches: the user cache


@pytest.mark.integration
def test_layercontract_run_on_real_keras_from_an_empty_directory(wheel_env):
    """keras-numpy, on the one suite file with its reviewed deviation: the packaged expectations
    file is found and matched by check id."""
    _wheel, venv, empty, run = wheel_env
    result = run(
        venv / "bin" / "layercontract", "run", "--backend", "keras-numpy", "--out", "kn", "--", "-k", "test_input"
    )
    assert result.returncode == 0, output(result)
    record = json.loads((empty / "kn" / "keras-numpy.json").read_text(encoding="utf-8"))
    assert record["complete"] and record["backend"] == "keras-numpy" and "keras" in record["versions"]
    deviations = [t for t in record["tests"] if t["outcome"] == "expected-deviation"]
    assert deviations and all(t["deviation"]["file"].endswith("keras-numpy.toml") for t in deviations)


def test_pytest_pyargs_runs_the_installed_suites_from_an_empty_directory(wheel_env):
    _wheel, venv, _empty, run = wheel_env
    result = run(
        venv / "bin" / "python",
        "-m",
        "pytest",
        "--pyargs",
        "layercontract.suites",
        "--backend",
        "reference",
        "-p",
        "no:cacheprovider",
        "-k",
        "test_build",
    )
    assert result.returncode == 0, output(result)
    assert "layercontract backend: reference" in result.stdout and " passed" in result.stdout
