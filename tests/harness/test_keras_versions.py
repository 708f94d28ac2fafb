"""The contract across Keras versions: `when` conditions on expectations entries, backend@version
names on cached Keras overlays (spec/harness/overlay.py), and the changes between versions.

Most tests use stub `keras` packages in a temporary overlay cache (no download); one installs a
real Keras release with pip (from pip's own cache after the first time)."""

from __future__ import annotations

import copy
import json
import os
import pathlib
import subprocess
import sys
import time

import pytest

from layercontract.reports import diff
from layercontract.spec import clauses as spec_clauses
from layercontract.spec.harness import expectations, overlay, registry

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD_SUITE = "suites/test_build.py"  # as checks ids spell it (layercontract run, run-many -s)
BUILD_SUITE_FILE = "layercontract/suites/test_build.py"  # as pytest takes it in the checkout
BUILT_FLAG_TEST = "suites/test_build.py::test_built_is_true_after_first_call"
USAGE_ERROR = 4

STUB_KERAS = """import os
__version__ = {version!r}


class backend:
    @staticmethod
    def backend():
        return os.environ["KERAS_BACKEND"]
"""
BROKEN_KERAS = """raise ModuleNotFoundError("No module named 'tree'", name="tree")
"""


def env(**extra) -> dict:
    out = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "LAYERCONTRACT_BACKEND",
            "PYTEST_ADDOPTS",
            "PYTEST_PLUGINS",
            overlay.ENV_OVERLAY,
            overlay.ENV_CACHE,
            overlay.ENV_OFFLINE,
        )
    }
    out["PYTHONDONTWRITEBYTECODE"] = "1"
    out.update({k: str(v) for k, v in extra.items()})
    return out


def run(args, timeout=300, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, cwd=ROOT, env=env(**extra), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


def stub_overlay(
    root: pathlib.Path, version: str, source: str = STUB_KERAS, distribution: str | None = None
) -> pathlib.Path:
    """A complete cached overlay whose `keras` is a stub (or a broken package)."""
    path = root / version
    (overlay.packages_dir(path) / "keras").mkdir(parents=True)
    (overlay.packages_dir(path) / "keras" / "__init__.py").write_text(source.format(version=version), encoding="utf-8")
    distribution = distribution or ("keras-nightly" if ".dev" in version else "keras")
    (path / overlay.MARKER).write_text(json.dumps({"distribution": distribution, "version": version}), encoding="utf-8")
    return path


def deviation_toml(test, **extra) -> str:
    fields = {
        "test": test,
        "clause": "BUILD.BUILT_FLAG",
        "kind": "upstream-bug",
        "observed": "built stays False",
        "reason": "for the harness tests",
        **extra,
    }
    return "[[deviation]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in fields.items())


# ---------------------------------------------------------------- when
def test_when_naming_an_unrecorded_distribution_is_one_clear_error():
    entry = expectations.Deviation(
        BUILT_FLAG_TEST, "BUILD.BUILT_FLAG", "upstream-bug", "o", "r", when=("keras < 3.16",)
    )
    with pytest.raises(expectations.ExpectationsError) as info:
        entry.holds_on({"numpy": "2.4.6", "jax": "0.10.2"})
    assert str(info.value) == (
        f"expectations entry for {BUILT_FLAG_TEST!r}: its condition 'keras < 3.16' names 'keras', which "
        "the backend does not record (it records: jax, numpy)"
    )


@pytest.mark.parametrize(
    "when, version, holds",
    [
        ("keras < 3.16", "3.15.1", True),
        ("keras < 3.16", "3.16.0.dev2026102704", False),  # an exclusive bound excludes its pre-releases
        ("keras < 3.16.0.dev0", "3.16.0.dev2026102704", False),
        ("keras < 3.16.0.dev0", "3.15.1", True),
        ("keras >= 3.16.0.dev0", "3.16.0.dev2026102704", True),
        ("keras < 3.7", "3.6.0", True),
        ("keras < 3.7", "3.7.0", False),
        (["keras >= 3.10", "keras < 3.16.0.dev0"], "3.9.2", False),
        (["keras >= 3.10", "keras < 3.16.0.dev0"], "3.12.4", True),
    ],
)
def test_when_is_evaluated_on_the_recorded_version(when, version, holds):
    entry = expectations.Deviation(
        BUILT_FLAG_TEST,
        "BUILD.BUILT_FLAG",
        "upstream-bug",
        "o",
        "r",
        when=tuple([when] if isinstance(when, str) else when),
    )
    assert entry.holds_on({"keras": version, "numpy": "2.4.6"}) is holds


@pytest.mark.parametrize(
    "when, problem",
    [
        ("keras <<< 3", "is not a PEP 440 requirement"),
        ("keras", "must be '<distribution> <specifiers>'"),
        ("keras < 3; python_version > '3'", "must be '<distribution> <specifiers>'"),
        (3.16, "when must be a requirement string or a list of them"),
        ([], "when must be a requirement string or a list of them"),
    ],
)
def test_a_malformed_when_is_rejected_with_the_entry_named(tmp_path, when, problem):
    path = tmp_path / "exp.toml"
    path.write_text(deviation_toml(BUILT_FLAG_TEST, when=when), encoding="utf-8")
    with pytest.raises(expectations.ExpectationsError) as info:
        expectations.load(path, spec_clauses.load())
    assert f"{path}: deviation #1: " in str(info.value) and problem in str(info.value)


def pytest_run(tmp_path, when, *args):
    path = tmp_path / "exp.toml"
    path.write_text(deviation_toml(BUILT_FLAG_TEST, when=when), encoding="utf-8")
    record = tmp_path / "run.json"
    result = run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            BUILD_SUITE_FILE,
            "--backend=reference",
            "--expectations",
            str(path),
            "--record",
            str(record),
            *args,
        ],
        timeout=180,
    )
    tests = {t["nodeid"]: t for t in json.loads(record.read_text())["tests"]} if record.exists() else {}
    return result, tests


def test_an_entry_whose_condition_holds_and_whose_check_passes_fails_the_run(tmp_path):
    """The stale-entry rule, per version: the reference records numpy, and numpy >= 1 holds."""
    result, tests = pytest_run(tmp_path, "numpy >= 1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert tests[BUILT_FLAG_TEST]["outcome"] == "unexpected-pass"


def test_an_entry_whose_condition_does_not_hold_is_inactive(tmp_path):
    result, tests = pytest_run(tmp_path, "numpy < 1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert tests[BUILT_FLAG_TEST]["outcome"] == "pass"


def test_a_run_whose_condition_names_an_unrecorded_distribution_stops_with_one_message(tmp_path):
    result, tests = pytest_run(tmp_path, "keras < 3.16")
    assert result.returncode == USAGE_ERROR
    assert "its condition 'keras < 3.16' names 'keras', which the backend does not record" in result.stderr
    assert tests == {}  # stopped before its tests were selected: no record (an earlier one would be kept)


def test_every_version_bound_entry_of_the_real_files_names_keras():
    """The `when` conditions of the shipped expectations files are on Keras, which every Keras 3
    backend records."""
    for path in sorted((ROOT / "layercontract" / "backends" / "expectations").glob("*.toml")):
        for entry in expectations.load(path, spec_clauses.load()):
            for text in entry.when:
                assert text.startswith("keras "), (path.name, entry.test, text)


def test_the_keras_jax_fit_entry_holds_on_releases_and_not_on_nightly():
    entries = expectations.load(
        ROOT / "layercontract" / "backends" / "expectations" / "keras-jax.toml", spec_clauses.load()
    )
    (fit,) = [e for e in entries if e.clause == "TRAIN.FIT_IS_TRAINING"]
    assert fit.upstream == "keras-team/keras#23364"
    for version, holds in (("3.10.0", True), ("3.15.1", True), ("3.16.0.dev2026102704", False), ("3.16.0", False)):
        assert fit.holds_on({"keras": version}) is holds, version


# ---------------------------------------------------------- names and overlays
@pytest.mark.parametrize(
    "name, expected",
    [
        ("keras-jax", ("keras-jax", None)),
        ("keras-jax@3.12.0", ("keras-jax", "3.12.0")),
        ("keras-numpy@nightly", ("keras-numpy", "nightly")),
        ("pkg.mod:Adapter", ("pkg.mod:Adapter", None)),
    ],
)
def test_split_name(name, expected):
    assert overlay.split_name(name) == expected


@pytest.mark.parametrize(
    "request_, distribution, version",
    [
        ("3.12.0", "keras", "3.12.0"),
        ("nightly", "keras-nightly", None),
        ("3.16.0.dev2026102704", "keras-nightly", "3.16.0.dev2026102704"),
    ],
)
def test_a_version_request_names_its_distribution(request_, distribution, version):
    dist, exact = overlay.check_request(request_)
    assert dist == distribution and (str(exact) if exact else None) == version


@pytest.mark.parametrize(
    "name, problem",
    [
        ("keras-jax@3.12", "give an exact release such as 3.12.0"),
        ("keras-jax@latest", "is not a PEP 440 version nor 'nightly'"),
        ("keras-jax@", "expected NAME@VERSION"),
        ("tf-keras@3.12.0", "only Keras 3 backends take a Keras version"),
        ("reference@3.12.0", "only Keras 3 backends take a Keras version"),
        ("no-such-backend@3.12.0", "unknown backend 'no-such-backend'"),
    ],
)
def test_bad_versioned_names_are_clear_backend_errors(name, problem):
    with pytest.raises(registry.BackendError) as info:
        registry.check_versioned(name)
    assert problem in str(info.value)


def test_cache_root_is_overridable_and_defaults_to_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.setenv(overlay.ENV_CACHE, str(tmp_path / "mine"))
    assert overlay.cache_root() == tmp_path / "mine"
    monkeypatch.delenv(overlay.ENV_CACHE)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert overlay.cache_root() == tmp_path / "xdg" / "layercontract" / "keras"


def test_a_cached_overlay_is_found_without_pip_or_network(monkeypatch, tmp_path):
    stub_overlay(tmp_path, "3.99.0")
    monkeypatch.setattr(overlay, "_pip", lambda *a, **k: pytest.fail(f"pip was called: {a}"))
    started = time.monotonic()
    found = overlay.prepare("3.99.0", tmp_path)
    assert time.monotonic() - started < 1.0
    assert (found.path, found.distribution, found.version, found.note) == (tmp_path / "3.99.0", "keras", "3.99.0", "")


def fake_pip_install(monkeypatch) -> list:
    """overlay._pip replaced by one that "installs" a stub keras into --target; the calls, in order."""
    calls = []

    def fake_pip(*args, timeout=None):
        calls.append(args)
        target = pathlib.Path(args[args.index("--target") + 1])
        (target / "keras").mkdir(parents=True)
        (target / "keras" / "__init__.py").write_text(f"__version__ = '{args[-1].split('==')[1]}'\n")
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(overlay, "_pip", fake_pip)
    return calls


def test_install_uses_pip_no_deps_target_and_moves_the_result_into_the_cache(monkeypatch, tmp_path):
    calls = fake_pip_install(monkeypatch)
    found = overlay.prepare("3.98.1", tmp_path)
    (args,) = calls
    assert args[0] == "install" and "--no-deps" in args and args[-1] == "keras==3.98.1"
    assert found.path == tmp_path / "3.98.1" and (found.path / overlay.MARKER).is_file()
    assert (found.packages / "keras" / "__init__.py").is_file() and found.packages.name == "site-packages"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")] == []
    assert overlay.prepare("3.98.1", tmp_path).path == found.path and len(calls) == 1  # cached now


def test_an_overlay_of_the_older_layout_is_installed_again(monkeypatch, tmp_path):
    """Keras beside the marker (before site-packages/) would make hypothesis parse all of Keras."""
    old = tmp_path / "3.98.2"
    (old / "keras").mkdir(parents=True)
    (old / "keras" / "__init__.py").write_text("__version__ = '3.98.2'\n")
    (old / overlay.MARKER).write_text(json.dumps({"distribution": "keras", "version": "3.98.2"}))
    calls = fake_pip_install(monkeypatch)
    assert overlay.cached(tmp_path) == []
    found = overlay.prepare("3.98.2", tmp_path)
    assert len(calls) == 1 and found.path == old and not (old / "keras").exists()
    assert (found.packages / "keras" / "__init__.py").is_file()


MISSING_DIST = "lc-absent-dependency"  # installed nowhere: the overlay must add it


def fake_pip_with_requirements(monkeypatch, requires: list[str], refuse: tuple = ()) -> list:
    """overlay._pip replaced by one that "installs" a stub keras whose METADATA lists `requires`,
    and any other distribution as a stub package with its dist-info (failing, as pip does, for a
    name in `refuse`); the calls, in order."""
    calls = []

    def fake_pip(*args, timeout=None):
        calls.append(args)
        if args[-1] in refuse:
            return subprocess.CompletedProcess(args, 1, "", f"ERROR: No matching distribution found for {args[-1]}\n")
        target = pathlib.Path(args[args.index("--target") + 1])
        for spec in args[args.index("--target") + 2 :]:
            name, _, version = spec.partition("==")
            module = name.replace("-", "_")
            (target / module).mkdir(parents=True)
            (target / module / "__init__.py").write_text(f"__version__ = '{version or '1.0'}'\n")
            info = target / f"{module}-{version or '1.0'}.dist-info"
            info.mkdir()
            headers = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version or '1.0'}"]
            if name == "keras":
                headers += [f"Requires-Dist: {r}" for r in requires]
            (info / "METADATA").write_text("\n".join(headers) + "\n\nthe description\n")
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(overlay, "_pip", fake_pip)
    return calls


def test_an_overlay_adds_only_the_requirements_the_environment_lacks(monkeypatch, tmp_path):
    """Keras 3.0.x requires dm-tree, which the pinned frameworks do not have: the overlay installs
    what is missing (--no-deps, into its site-packages), nothing the environment already has."""
    calls = fake_pip_with_requirements(
        monkeypatch,
        [
            "numpy",
            "packaging>=20",
            MISSING_DIST,
            'lc-only-on-windows; sys_platform == "win32"',
            'lc-an-extra; extra == "tests"',
        ],
    )
    found = overlay.prepare("3.0.9", tmp_path)
    keras_call, dependency_call = calls
    assert keras_call[-1] == "keras==3.0.9"
    assert dependency_call[0] == "install" and "--no-deps" in dependency_call
    assert dependency_call[dependency_call.index("--target") + 2 :] == (MISSING_DIST,)
    assert (found.packages / "lc_absent_dependency" / "__init__.py").is_file()
    assert (found.packages / "keras" / "__init__.py").is_file()
    marker = json.loads((found.path / overlay.MARKER).read_text())
    assert marker["dependencies"] == {MISSING_DIST: "1.0"}
    assert overlay.missing_requirements(found.packages) == []
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")] == []
    assert overlay.prepare("3.0.9", tmp_path).path == found.path and len(calls) == 2  # cached now


def test_a_keras_the_environment_satisfies_gets_no_second_pip_call(monkeypatch, tmp_path):
    calls = fake_pip_with_requirements(monkeypatch, ["numpy", "absl-py"])
    found = overlay.prepare("3.98.3", tmp_path)
    assert len(calls) == 1
    assert json.loads((found.path / overlay.MARKER).read_text())["dependencies"] == {}


def test_a_cached_overlay_from_before_dependencies_is_completed_in_place(monkeypatch, tmp_path):
    """An overlay cached before the overlay added requirements (Keras 3.0.x without dm-tree)."""
    path = stub_overlay(tmp_path, "3.0.8")
    info = overlay.packages_dir(path) / "keras-3.0.8.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Name: keras\nVersion: 3.0.8\nRequires-Dist: numpy\n"
        f"Requires-Dist: {MISSING_DIST}\n\nRequires-Dist: not-a-header\n"
    )
    calls = fake_pip_with_requirements(monkeypatch, [])
    found = overlay.prepare("3.0.8", tmp_path)
    (dependency_call,) = calls  # Keras itself is kept, only the missing distribution is added
    assert dependency_call[dependency_call.index("--target") + 2 :] == (MISSING_DIST,)
    assert found.path == path and (found.packages / "keras" / "__init__.py").is_file()
    assert (found.packages / "lc_absent_dependency" / "__init__.py").is_file()
    assert json.loads((path / overlay.MARKER).read_text())["dependencies"] == {MISSING_DIST: "1.0"}
    overlay.prepare("3.0.8", tmp_path)
    assert len(calls) == 1


def test_a_requirement_pip_cannot_install_is_one_clear_error_and_caches_nothing(monkeypatch, tmp_path):
    fake_pip_with_requirements(monkeypatch, [MISSING_DIST], refuse=(MISSING_DIST,))
    with pytest.raises(overlay.OverlayError) as info:
        overlay.prepare("3.0.7", tmp_path)
    assert str(info.value).startswith(f"could not install {MISSING_DIST}, which keras 3.0.7 needs")
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".lock")] == []


def test_a_version_pip_cannot_install_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(
        overlay,
        "_pip",
        lambda *a, **k: subprocess.CompletedProcess(
            a, 1, "", "ERROR: Could not find a version that satisfies the requirement keras==3.99.9\n"
        ),
    )
    with pytest.raises(overlay.OverlayError) as info:
        overlay.prepare("3.99.9", tmp_path)
    assert str(info.value).startswith("could not install keras==3.99.9")
    assert "Could not find a version" in str(info.value)
    assert not (tmp_path / "3.99.9").exists()


def test_nightly_offline_uses_the_newest_cached_nightly_and_says_so(monkeypatch, tmp_path):
    for version in ("3.16.0.dev2026102504", "3.16.0.dev2026102704", "3.15.1"):
        stub_overlay(tmp_path, version)
    monkeypatch.setattr(overlay, "_pip", lambda *a, **k: pytest.fail("offline: pip must not be called"))
    monkeypatch.setenv(overlay.ENV_OFFLINE, "1")
    found = overlay.prepare("nightly", tmp_path)
    assert found.version == "3.16.0.dev2026102704" and found.distribution == "keras-nightly"
    assert "resolved offline" in found.note and "newest cached keras-nightly 3.16.0.dev2026102704" in found.note


def test_nightly_falls_back_to_the_cache_when_the_index_cannot_be_reached(monkeypatch, tmp_path):
    stub_overlay(tmp_path, "3.16.0.dev2026102704")

    def unreachable(*args, timeout=None):
        return subprocess.CompletedProcess(args, 1, "", "ERROR: Could not fetch URL: connection refused\n")

    monkeypatch.setattr(overlay, "_pip", unreachable)
    found = overlay.prepare("nightly", tmp_path)
    assert found.version == "3.16.0.dev2026102704"
    assert "connection refused" in found.note


def test_nightly_offline_without_a_cached_nightly_is_an_error(monkeypatch, tmp_path):
    stub_overlay(tmp_path, "3.15.1")
    monkeypatch.setenv(overlay.ENV_OFFLINE, "1")
    with pytest.raises(overlay.OverlayError, match="holds no keras-nightly to fall back on"):
        overlay.prepare("nightly", tmp_path)


def test_nightly_online_takes_the_newest_on_the_index(monkeypatch, tmp_path):
    stub_overlay(tmp_path, "3.16.0.dev2026102704")
    monkeypatch.setattr(
        overlay,
        "_pip",
        lambda *a, **k: subprocess.CompletedProcess(
            a, 0, "keras-nightly (3.16.0.dev2026102704)\nAvailable versions: 3.16.0.dev2026102704\n", ""
        ),
    )
    found = overlay.prepare("nightly", tmp_path)
    assert (found.version, found.note) == ("3.16.0.dev2026102704", "")


PROBE = """
import json, sys
from layercontract.spec.harness import registry
adapter = registry.resolve(sys.argv[1])
try:
    adapter.load()
except registry.BackendError as e:
    print(json.dumps({"error": str(e)}))
else:
    import keras
    print(json.dumps({"versions": adapter.versions(), "name": adapter.name, "file": keras.__file__,
                      "requested": adapter.requested_backend, "path0": sys.path[0]}))
"""


def test_a_versioned_backend_imports_the_overlay_keras_and_records_its_version(tmp_path):
    path = stub_overlay(tmp_path, "3.99.0")
    result = run([sys.executable, "-c", PROBE, "keras-numpy@3.99.0"], **{overlay.ENV_CACHE: tmp_path})
    data = json.loads(result.stdout.splitlines()[-1])
    assert data["name"] == "keras-numpy" and data["requested"] == "keras-numpy@3.99.0"
    assert data["versions"]["keras"] == "3.99.0"
    packages = path / "site-packages"  # named so, hypothesis does not read Keras as the user's code
    assert data["file"] == str(packages / "keras" / "__init__.py") and data["path0"] == str(packages)


def test_the_parents_overlay_decides_what_nightly_means_in_the_backend_process(tmp_path):
    stub_overlay(tmp_path, "3.16.0.dev2026102504")
    given = stub_overlay(tmp_path, "3.16.0.dev2026102704")
    result = run(
        [sys.executable, "-c", PROBE, "keras-jax@nightly"], **{overlay.ENV_CACHE: tmp_path, overlay.ENV_OVERLAY: given}
    )
    data = json.loads(result.stdout.splitlines()[-1])
    assert data["versions"]["keras"] == "3.16.0.dev2026102704" and data["requested"] == "keras-jax@nightly"


def test_a_keras_that_cannot_import_is_a_clear_load_error(tmp_path):
    path = stub_overlay(tmp_path, "3.0.0", source=BROKEN_KERAS)
    result = run([sys.executable, "-c", PROBE, "keras-numpy@3.0.0"], **{overlay.ENV_CACHE: tmp_path})
    assert json.loads(result.stdout.splitlines()[-1])["error"] == (
        f"keras 3.0.0 (overlay {path}) cannot be loaded as backend 'keras-numpy' with the installed "
        "frameworks: ModuleNotFoundError: No module named 'tree'"
    )


def test_run_many_gives_a_keras_that_cannot_import_a_record_and_runs_the_others(tmp_path):
    stub_overlay(tmp_path / "cache", "3.0.0", source=BROKEN_KERAS)
    out = tmp_path / "out"
    result = run(
        [
            sys.executable,
            "-m",
            "layercontract",
            "run-many",
            "reference",
            "keras-numpy@3.0.0",
            "--keras-cache",
            str(tmp_path / "cache"),
            "-s",
            BUILD_SUITE,
            "--out",
            str(out),
            "-j",
            "2",
        ]
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    record = json.loads((out / "keras-numpy@3.0.0.json").read_text())
    assert record["requested_backend"] == "keras-numpy@3.0.0"
    assert record["complete"] is False and {t["outcome"] for t in record["tests"]} == {"harness-error"}
    assert (
        "cannot be loaded as backend 'keras-numpy' with the installed frameworks: ModuleNotFoundError: "
        "No module named 'tree'"
    ) in record["stop_reason"]
    assert json.loads((out / "reference.json").read_text())["complete"] is True


@pytest.mark.integration
def test_run_many_installs_a_real_keras_release_once_and_runs_on_it(tmp_path):
    """A real overlay: pip install --no-deps --target (pip's wheel cache after the first time)."""
    cache, out = tmp_path / "cache", tmp_path / "out"
    args = [
        sys.executable,
        "-m",
        "layercontract",
        "run-many",
        "keras-numpy@3.12.0",
        "--keras-cache",
        str(cache),
        "-s",
        BUILD_SUITE,
        "--out",
        str(out),
    ]
    first = run(args, timeout=600)
    assert first.returncode == 0, first.stdout + first.stderr
    record = json.loads((out / "keras-numpy@3.12.0.json").read_text())
    assert (record["backend"], record["requested_backend"], record["versions"]["keras"]) == (
        "keras-numpy",
        "keras-numpy@3.12.0",
        "3.12.0",
    )
    assert (cache / "3.12.0" / "site-packages" / "keras-3.12.0.dist-info").is_dir()
    assert json.loads((cache / "3.12.0" / overlay.MARKER).read_text())["dependencies"] == {}  # optree etc. pinned
    started = time.monotonic()
    assert overlay.prepare("3.12.0", cache).version == "3.12.0"
    assert time.monotonic() - started < 5.0  # a warm cache: no pip at all


# ---------------------------------------------------------------- changes
@pytest.mark.integration
def test_a_real_keras_3_0_overlay_gets_dm_tree_and_imports(tmp_path):
    """Keras 3.0.x requires dm-tree (later releases: optree); the pinned set lacks it."""
    found = overlay.prepare("3.0.5", tmp_path)
    marker = json.loads((found.path / overlay.MARKER).read_text())
    assert list(marker["dependencies"]) == ["dm-tree"] and overlay.missing_requirements(found.packages) == []
    result = run(
        [sys.executable, "-c", "import keras, tree; print(keras.__version__, tree.__file__)"],
        KERAS_BACKEND="numpy",
        PYTHONPATH=found.packages,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "3.0.5" and result.stdout.split()[1].startswith(str(found.packages))


def record(keras_version, clauses, backend="keras-jax"):
    return {
        "backend": backend,
        "requested_backend": f"{backend}@{keras_version}",
        "versions": {"keras": keras_version},
        "clauses": {cid: {"outcome": outcome, "tests": 1} for cid, outcome in clauses.items()},
    }


def test_consecutive_changes_order_versions_and_name_each_changed_clause():
    nightly = record("3.16.0.dev2026102704", {"TRAIN.FIT_IS_TRAINING": "pass", "INPUT.X": "pass"})
    old = record("3.15.1", {"TRAIN.FIT_IS_TRAINING": "expected-deviation", "INPUT.X": "pass"})
    older = record("3.12.4", {"TRAIN.FIT_IS_TRAINING": "expected-deviation", "INPUT.X": "pass"})
    other = record("3.15.1", {"INPUT.X": "pass"}, backend="keras-numpy")
    assert diff.consecutive_changes([nightly, other, older, old]) == [
        ("keras-jax", "3.12.4", "3.15.1", []),
        ("keras-jax", "3.15.1", "3.16.0.dev2026102704", [("TRAIN.FIT_IS_TRAINING", "expected-deviation", "pass")]),
    ]
    assert diff.history_lines([old, nightly]) == [
        "",
        "changes between consecutive Keras versions (clause: old outcome -> new outcome):",
        "  keras-jax 3.15.1 -> 3.16.0.dev2026102704: ",
        "    TRAIN.FIT_IS_TRAINING: expected-deviation -> pass",
    ]


def test_diff_between_two_versions_records_names_each_changed_clause(tmp_path):
    out = tmp_path / "out"
    result = run([sys.executable, "-m", "layercontract", "run-many", "reference", "-s", BUILD_SUITE, "--out", str(out)])
    assert result.returncode == 0, result.stdout + result.stderr
    base = json.loads((out / "reference.json").read_text())
    old, new = copy.deepcopy(base), copy.deepcopy(base)
    old["versions"]["numpy"] = "2.3.0"
    for t in old["tests"]:
        if t["nodeid"] == BUILT_FLAG_TEST:
            t["outcome"] = "expected-deviation"
    old["clauses"]["BUILD.BUILT_FLAG"]["outcome"] = "expected-deviation"
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(new))
    result = run(
        [sys.executable, "-m", "layercontract", "diff", str(tmp_path / "old.json"), str(tmp_path / "new.json")]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "- **reference** `BUILD.BUILT_FLAG`: expected-deviation → pass" in result.stdout
    assert "numpy 2.3.0 → " in result.stdout


def test_every_expectations_entry_names_a_test_function_that_exists():
    """Entries that hold only on other Keras releases never match a test on the installed one:
    make sure a moved or renamed test cannot leave them pointing at nothing."""
    problems = []
    for path in sorted((ROOT / "layercontract" / "backends" / "expectations").glob("*.toml")):
        for entry in expectations.load(path, spec_clauses.load()):
            file_part, _, function = entry.test.partition("::")
            source = ROOT / "layercontract" / file_part
            name = function.split("[", 1)[0]
            if not source.is_file() or f"def {name}(" not in source.read_text(encoding="utf-8"):
                problems.append(f"{path.name}: {entry.test}")
    assert problems == []
