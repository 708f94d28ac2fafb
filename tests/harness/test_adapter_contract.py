"""The adapter contract (spec/harness/adapter_contract.py), backend discovery (registry, entry points,
`layercontract backends`), `layercontract doctor`, and the out-of-tree example adapter
(examples/layercontract-example-adapter), run by module:Class and installed by entry point."""

import pathlib
import re
import subprocess
import sys

import pytest

from layercontract.spec.harness import adapter_contract as contract
from layercontract.spec.harness import registry
from layercontract.spec.harness.commands import doctor
from tests import forked
from tests._env import clean_env
from tests.fixtures.adapters import BROKEN_EXPECTATIONS

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "layercontract-example-adapter"
EXAMPLE_SPEC = "layercontract_example_adapter:ExampleKerasNumpy"
EXAMPLE_NAME = "example-keras-numpy"
EXAMPLE_SUITE = "layercontract/suites/test_input.py"  # the file with the example's one expected deviation
MAX_NDIM_TEST = "layercontract/suites/test_input.py::test_error_shows_the_full_received_shape[max_ndim]"
EXAMPLE_BACKENDS = {
    "example-keras-numpy": EXAMPLE_SPEC,
    "example-keras-numpy-lenient": "layercontract_example_adapter:ExampleKerasNumpyLenient",
}


def run(cmd, cwd=ROOT, timeout=300, **env):
    return subprocess.run(cmd, cwd=cwd, env=clean_env(**env), capture_output=True, text=True, timeout=timeout)


def layercontract(*args, cwd=ROOT, timeout=300, **env):
    return forked.cli(*args, cwd=cwd, env=clean_env(**env), timeout=timeout)


def output(result):
    return result.stdout + result.stderr


# --------------------------------------------------------------- the contract
def test_the_namespace_list_is_exactly_what_the_suites_use():
    used = set()
    for path in (ROOT / "layercontract/suites").glob("*.py"):
        used |= set(re.findall(r"\bK\.((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*)", path.read_text(encoding="utf-8")))
    assert used == set(contract.NAMESPACE)
    assert set(contract.CLASSES) <= set(contract.NAMESPACE)
    assert set(contract.CAPABILITY_NEEDS) == set(contract.CAPABILITIES)


def test_the_harness_and_the_suites_use_only_the_contract():
    """No private shortcuts: the plugin, the record and the suites reach the adapter only
    through the contract's attributes and methods, and the suites import no backend."""
    public = set(contract.ATTRIBUTES) | set(contract.METHODS)
    for path in (
        *(ROOT / "layercontract/spec/harness/plugin").glob("*.py"),
        ROOT / "layercontract/spec/harness/watchdog.py",
        ROOT / "layercontract/spec/harness/recorder.py",
        ROOT / "layercontract/reports/records.py",
    ):
        used = set(re.findall(r"\badapter\.(\w+)", path.read_text(encoding="utf-8")))
        assert used <= public, f"{path.name} uses {used - public}"
    for path in (ROOT / "layercontract/suites").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        used = set(re.findall(r"\bbackend\.(\w+)", text))
        assert used <= public, f"{path.name} uses {used - public}"
        assert not re.search(
            r"^\s*(from|import)\s+((layercontract\.)?(backends|reference_impl)|keras|tf_keras|"
            r"tensorflow|jax|torch)\b",
            text,
            re.M,
        ), f"{path.name} imports a backend's modules"


def test_the_contract_module_is_short():
    lines = (ROOT / "layercontract/spec/harness/adapter_contract.py").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 160


def test_builtin_adapters_declare_compiled_only_with_compiled_call():
    for name in registry.BUILTIN:
        adapter = registry.resolve(name)
        assert ("compiled" in adapter.capabilities) == contract.provides(adapter, "compiled_call"), name


def test_builtin_adapters_declare_gradients_only_with_recorded_call():
    for name in registry.BUILTIN:
        adapter = registry.resolve(name)
        assert ("gradients" in adapter.capabilities) == contract.provides(adapter, "recorded_call"), name


# ----------------------------------------------------------------- discovery
def test_module_class_spec_needs_no_installation():
    adapter = registry.resolve("tests.fixtures.adapters:MissingNames")
    assert adapter.name == "missing-names"
    assert registry.spec_for("tests.fixtures.adapters:MissingNames")[1] == "module:Class given directly"


def fake_distribution(site: pathlib.Path, dist: str, entry_points: dict, version="1.0"):
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8")
    lines = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{registry.ENTRY_POINT_GROUP}]\n{lines}", encoding="utf-8")


def test_entry_points_are_discovered_resolved_and_listed(tmp_path, monkeypatch):
    fake_distribution(
        tmp_path,
        "lc-plugin-one",
        {
            "plugged-reference": "tests.fixtures.adapters:RenamedReference",
            "reference": "tests.fixtures.adapters:ExitInLoad",  # shadowed by the built-in
            "twice": "tests.fixtures.adapters:HangOnce",
        },
    )
    fake_distribution(
        tmp_path,
        "lc-plugin-two",
        {"twice": "tests.fixtures.adapters:HangHard", "broken": "no_such_module_xyz:Adapter"},
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    known = {(k.name, k.spec): k for k in registry.discover()}
    assert (
        known[("plugged-reference", "tests.fixtures.adapters:RenamedReference")].source
        == "entry point of lc-plugin-one 1.0"
    )
    assert "shadowed by the built-in" in known[("reference", "tests.fixtures.adapters:ExitInLoad")].problem
    assert "ambiguous" in known[("twice", "tests.fixtures.adapters:HangHard")].problem
    assert registry.resolve("plugged-reference").name == "renamed-reference"
    assert registry.resolve("reference").name == "reference"  # the built-in wins
    assert registry.known_backends()["plugged-reference"] == "tests.fixtures.adapters:RenamedReference"
    assert "twice" not in registry.known_backends()
    with pytest.raises(registry.BackendError, match="ambiguous"):
        registry.resolve("twice")
    with pytest.raises(
        registry.BackendError,
        match=r"backend 'broken' \(entry point of lc-plugin-two 1.0\): "
        r"cannot import adapter module 'no_such_module_xyz'",
    ):
        registry.resolve("broken")
    with pytest.raises(registry.BackendError, match=r"unknown backend 'nosuch'.*plugged-reference"):
        registry.resolve("nosuch")

    # `layercontract backends` lists every known backend and where it comes from
    result = layercontract("backends", PYTHONPATH=str(tmp_path))
    assert result.returncode == 0, output(result)
    lines = result.stdout.splitlines()
    for name in registry.BUILTIN:
        assert any(re.match(rf"{re.escape(name)}\s+built-in\s+layercontract\.backends\.", line) for line in lines), name
    listed = r"plugged-reference\s+entry point of lc-plugin-one 1.0\s+tests\.fixtures\.adapters:RenamedReference$"
    assert any(re.match(listed, line) for line in lines), result.stdout
    assert any(line.startswith("reference ") and "shadowed" in line for line in lines)
    # pytest resolves the entry-point name too
    run_ep = run(
        [
            sys.executable,
            "-m",
            "pytest",
            "layercontract/suites/test_build.py",
            "--backend",
            "plugged-reference",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        PYTHONPATH=str(tmp_path),
    )
    assert run_ep.returncode == 0, output(run_ep)
    assert "layercontract: clauses on backend renamed-reference" in run_ep.stdout


# -------------------------------------------------------------------- doctor
def test_doctor_passes_the_reference_backend_quickly():
    adapter, report = doctor.diagnose("reference")
    assert report.problems == []
    assert adapter.name == "reference"
    shown = "reports show it as the backend's version"
    assert any(
        ok and what.startswith("key distribution: reference_impl ") and shown in what for ok, what in report.checks
    )


def test_a_declared_key_distribution_is_checked_by_doctor_and_run_and_recorded(tmp_path):
    """doctor and a run refuse a key_distribution versions() does not report; a declared one is
    the record's, and so the version reports show."""
    expected = "key_distribution 'my-keras' is not in versions() (which reports numpy, python, reference_impl)"
    _adapter, report = doctor.diagnose("tests.fixtures.adapters:KeyDistributionNotReported")
    assert [p for p in report.problems if p.startswith("key_distribution")] == [
        expected + ": declare the distribution whose version identifies the implementation, and report its version"
    ]
    suite = ["-p", "no:cacheprovider", "-p", "no:xdist", "layercontract/suites/test_call.py"]
    refused = run(
        [sys.executable, "-m", "pytest", *suite, "--backend", "tests.fixtures.adapters:KeyDistributionNotReported"]
    )
    assert refused.returncode == 4 and expected in output(refused), output(refused)

    _adapter, report = doctor.diagnose("tests.fixtures.adapters:DeclaresItsDistribution")
    assert report.problems == []
    assert (
        True,
        "key distribution: my-keras 2.0.1 (declared by key_distribution): reports show it as the backend's version",
    ) in report.checks
    from layercontract.reports import records

    record = tmp_path / "declares.json"
    declared = "tests.fixtures.adapters:DeclaresItsDistribution"
    ran = run([sys.executable, "-m", "pytest", *suite, "--backend", declared, f"--record={record}"])
    assert ran.returncode == 0, output(ran)
    data = records.load(record)
    assert data["key_distribution"] == "my-keras" and records.key_version(data) == ("my-keras", "2.0.1")


def test_an_adapter_of_another_contract_version_is_refused_by_doctor_and_run(tmp_path):
    _adapter, report = doctor.diagnose("tests.fixtures.adapters:FromAnotherContract")
    expected = (
        f"adapter 'from-another-contract' was written for adapter contract version 99; this "
        f"layercontract implements version {contract.CONTRACT_VERSION}"
    )
    assert [p for p in report.problems if "contract version" in p] == [expected + " (see docs/WRITING_AN_ADAPTER.md)"]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "layercontract/suites/test_build.py",
            "--backend",
            "tests.fixtures.adapters:FromAnotherContract",
        ],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 4 and expected in result.stderr, output(result)
    assert doctor.diagnose("reference")[1].checks[1] == (True, f"adapter contract version {contract.CONTRACT_VERSION}")


def test_the_harness_calls_free_memory_after_each_test_module(tmp_path):
    log = tmp_path / "free_memory.log"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "-q",
            "layercontract/suites/test_build.py",
            "layercontract/suites/test_build_state.py",
            "--backend",
            "tests.fixtures.adapters:CountsFreeMemory",
        ],
        cwd=ROOT,
        env=clean_env(LAYERCONTRACT_TEST_FREE_MEMORY_LOG=str(log)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, output(result)
    assert log.read_text(encoding="utf-8").splitlines() == ["free_memory"] * 2


def test_doctor_catches_missing_names():
    _adapter, report = doctor.diagnose("tests.fixtures.adapters:MissingNames")
    assert report.problems == ["namespace: missing K.layers.Concatenate, K.ops.relu"]


def test_doctor_checks_what_each_namespace_name_returns():
    _adapter, report = doctor.diagnose("tests.fixtures.adapters:WrongOps")
    assert any(p.startswith("ops.add(a, a) must equal numpy's (2, 3) result") for p in report.problems), report.problems
    assert "ops.is_tensor(a tensor returned by an op) must be True, got False" in report.problems
    assert len(report.problems) == 2, report.problems  # nothing else: every other name behaves


def test_the_namespace_is_documented_name_by_name():
    from layercontract.spec.harness.contract_checks import NAMESPACE_MEANING

    assert list(NAMESPACE_MEANING) == list(contract.NAMESPACE)
    doc = (ROOT / "docs" / "WRITING_AN_ADAPTER.md").read_text(encoding="utf-8")
    table = doc.split("## 2. The namespace", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `([\w.]+)` \|", table, re.M)
    assert documented == list(contract.NAMESPACE), documented


def test_doctor_reports_every_problem_at_once_and_exits_1():
    result = layercontract("doctor", "--backend", "tests.fixtures.adapters:BrokenEverywhere")
    assert result.returncode == 1, output(result)
    problems = [
        line.strip().removeprefix("FAIL").strip()
        for line in result.stdout.splitlines()
        if line.strip().startswith("FAIL")
    ]
    expected = [
        "edition must be one of keras3, keras2, got 'keras4'",
        "unknown capabilities 'telepathy'",
        "capability 'compiled' is declared but the adapter has no compiled_call",
        "namespace: missing K.optimizers.SGD",
        "namespace: K.Layer must be a class, got function",
        "namespace: K.layers.Concatenate must be callable, got int",
        "to_numpy(Dense output) must be a numpy.ndarray of shape (2, 2), got list",
        "is_symbolic(an eager tensor) must be False, got 'no'",
        "set_seed(7) then Dropout(0.5) in training raised RuntimeError: no seeds here",
        "optional methods present but not callable: free_memory",
        "key_distribution must be a non-empty str (a distribution versions() reports) or None, got 7",
        f"expectations: {BROKEN_EXPECTATIONS}: deviation #1: missing observed, reason",
        f"expectations: {BROKEN_EXPECTATIONS}: deviation #1: kind 'cosmic-ray' is not one of",
    ]
    for text in expected:
        assert any(p.startswith(text) for p in problems), f"{text!r} not in {problems}"
    assert f"doctor: {len(problems)} problem(s)" in result.stdout


def test_doctor_checks_an_expectations_file_given_on_the_command_line(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text(
        '[[deviation]]\ntest = "suites/test_build.py::test_nothing_like_this"\nclause = "BUILD.LAZY"\n'
        'kind = "limitation"\nobserved = "o"\nreason = "r"\n',
        encoding="utf-8",
    )
    _adapter, report = doctor.diagnose("reference", path)
    assert report.problems == [
        "expectations: expectations entry for 'suites/test_build.py::test_nothing_like_this': "
        "suites/test_build.py has no test 'test_nothing_like_this' (fix or remove the entry)"
    ]
    path.write_text("deviation = [\n", encoding="utf-8")
    _adapter, report = doctor.diagnose("reference", path)
    assert len(report.problems) == 1 and "not valid TOML" in report.problems[0]


def test_doctor_names_the_entries_that_accept_any_failure(tmp_path):
    """An entry without `match` is valid but loose: doctor says which, without calling it a problem."""
    entry = (
        '[[deviation]]\ntest = "suites/test_build.py::test_built_is_true_after_first_call"\n'
        'clause = "BUILD.BUILT_FLAG"\nkind = "limitation"\nobserved = "o"\nreason = "r"\n'
    )
    path = tmp_path / "exp.toml"
    path.write_text(
        entry
        + entry.replace("test_built_is_true_after_first_call", "test_build_runs_once_over_calls_with_new_batch_sizes")
        + 'match = "built stays False"\n',
        encoding="utf-8",
    )
    _adapter, report = doctor.diagnose("reference", path)
    assert report.problems == []
    assert (
        True,
        f"expectations file {path}: 2 deviation(s), valid; without `match`, so accepting any failure "
        "of their check: #1",
    ) in report.checks


def test_doctor_on_unknown_backend_and_adapter_that_cannot_load():
    result = layercontract("doctor", "--backend", "nosuch")
    assert result.returncode == 1
    assert "FAIL  unknown backend 'nosuch'" in result.stdout
    _adapter, report = doctor.diagnose("tests.fixtures.adapters:FailsToLoad")
    assert report.problems == ["load() raised ModuleNotFoundError: No module named 'layercontract_no_such_framework'"]


def test_doctor_times_out_a_hanging_load(monkeypatch):
    monkeypatch.setattr(doctor, "STEP_TIMEOUT_S", 1)
    _adapter, report = doctor.diagnose("tests.fixtures.adapters:HangInLoad")
    assert report.problems == ["load() raised StepTimeout: did not return within 1 s"]


def test_doctor_command_passes_the_reference_backend():
    result = layercontract("doctor", "--backend", "reference")
    assert result.returncode == 0, output(result)
    assert "doctor: reference meets the adapter contract" in result.stdout


@pytest.mark.integration
def test_every_builtin_backend_passes_doctor():
    """Each in its own process (one Keras backend per process), all at once."""
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "layercontract.spec.harness.cli", "doctor", "--backend", name],
            cwd=ROOT,
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in registry.BUILTIN
    }
    for name, proc in procs.items():
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out
        assert f"doctor: {name} meets the adapter contract" in out


# ------------------------------------------------------ the example adapter
@pytest.mark.integration
def test_example_adapter_runs_by_module_class_with_its_own_expectations(tmp_path):
    record = tmp_path / "example.json"
    result = run(
        [
            sys.executable,
            "-m",
            "pytest",
            EXAMPLE_SUITE,
            "--backend",
            EXAMPLE_SPEC,
            "--record",
            str(record),
            "-p",
            "no:cacheprovider",
        ],
        PYTHONPATH=str(EXAMPLE),
    )
    assert result.returncode == 0, output(result)
    assert "layercontract: clauses on backend example-keras-numpy" in result.stdout
    assert re.search(r"EXPECTED-DEVIATION\s+INPUT\.ERROR_FULL_SHAPE", result.stdout)

    # a third party's own expectations file, kept anywhere: here an empty one, so the known
    # deviation is a failure again
    own = tmp_path / "elsewhere" / "our-expectations.toml"
    own.parent.mkdir()
    own.write_text("deviation = []\n", encoding="utf-8")
    result = run(
        [
            sys.executable,
            "-m",
            "pytest",
            MAX_NDIM_TEST,
            "--backend",
            EXAMPLE_SPEC,
            "--expectations",
            str(own),
            "-p",
            "no:cacheprovider",
        ],
        PYTHONPATH=str(EXAMPLE),
    )
    assert result.returncode == 1, output(result)
    assert f"FAILED {MAX_NDIM_TEST}" in result.stdout


@pytest.mark.integration
def test_example_adapter_installed_by_entry_point_in_a_virtualenv(tmp_path):
    venv = tmp_path / "venv"
    made = run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)])
    assert made.returncode == 0, output(made)
    python = venv / "bin" / "python"
    # This interpreter may itself be a virtualenv, whose packages (layercontract, keras)
    # --system-site-packages does not reach: chain its site-packages into the new one.
    import site

    new_site = run([str(python), "-c", "import site; print(site.getsitepackages()[0])"]).stdout.strip()
    (pathlib.Path(new_site) / "_layercontract_parent.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in site.getsitepackages()), encoding="utf-8"
    )
    installed = run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-e",
            str(EXAMPLE),
        ]
    )
    assert installed.returncode == 0, output(installed)

    listed = run([str(python), "-m", "layercontract.spec.harness.cli", "backends"])
    assert listed.returncode == 0, output(listed)
    assert re.search(
        rf"^{EXAMPLE_NAME}\s+entry point of layercontract-example-adapter 0\.1\.0\s+{EXAMPLE_SPEC}$",
        listed.stdout,
        re.M,
    ), listed.stdout

    checked = run([str(python), "-m", "layercontract.spec.harness.cli", "doctor", "--backend", EXAMPLE_NAME])
    assert checked.returncode == 0, output(checked)

    result = run([str(python), "-m", "pytest", EXAMPLE_SUITE, "--backend", EXAMPLE_NAME, "-p", "no:cacheprovider"])
    assert result.returncode == 0, output(result)
    assert f"layercontract: clauses on backend {EXAMPLE_NAME}" in result.stdout
    assert re.search(r"EXPECTED-DEVIATION\s+INPUT\.ERROR_FULL_SHAPE", result.stdout)
    assert not list(EXAMPLE.glob("*.egg-info")), "the editable install must not leave files in the example"


def test_example_is_a_complete_distribution():
    pyproject = (EXAMPLE / "pyproject.toml").read_text(encoding="utf-8")
    assert f'[project.entry-points."{registry.ENTRY_POINT_GROUP}"]' in pyproject
    assert f'{EXAMPLE_NAME} = "{EXAMPLE_SPEC}"' in pyproject
    source = (EXAMPLE / "layercontract_example_adapter" / "__init__.py").read_text(encoding="utf-8")
    imports = set(re.findall(r"^\s*(?:from|import)\s+([\w.]+)", source, re.M))
    assert imports <= {
        "__future__",
        "os",
        "pathlib",
        "sys",
        "importlib",
        "numpy",
        "layercontract.spec.harness.adapter_contract",
        "keras",
    }
    assert (EXAMPLE / "layercontract_example_adapter" / "expectations.toml").is_file()
    # several backends: one entry point, one class and one expectations file per backend name
    for name, spec in EXAMPLE_BACKENDS.items():
        assert f'{name} = "{spec}"' in pyproject
    import importlib.util  # the example is not installed: load its module from its file

    spec = importlib.util.spec_from_file_location(
        "_example_adapter", EXAMPLE / "layercontract_example_adapter" / "__init__.py"
    )
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    for name, spec in EXAMPLE_BACKENDS.items():
        cls = getattr(example, spec.split(":")[1])
        assert cls.name == name and issubclass(cls, example.ExampleKeras)
        assert cls.expectations.is_file() and cls.expectations.parent == EXAMPLE / "layercontract_example_adapter"
    assert len({getattr(example, s.split(":")[1]).expectations for s in EXAMPLE_BACKENDS.values()}) == len(
        EXAMPLE_BACKENDS
    )


# ------------------------------------------ a package with several backends, not pip-installed
LENIENT = "layercontract_example_adapter:ExampleKerasNumpyLenient"
DROPOUT_RATE_CHECK = "suites/test_train_dropout.py::test_dropout_rejects_rate_outside_unit_interval_at_construction"
LENIENT_ENTRY = """
[[deviation]]
test = "{test}"
clause = "TRAIN.DROPOUT_INVALID_RATE"
kind = "limitation"
observed = "Dropout(-0.1) and Dropout(1.5) are accepted: the rate is clamped into [0, 1]."
match = "DID NOT RAISE"
reason = "layercontract_example_adapter.ExampleKerasNumpyLenient.namespace: its Dropout clamps the rate (deliberate)."
"""


@pytest.mark.integration
def test_a_multi_backend_package_not_installed_reaches_the_run_through_pythonpath(tmp_path):
    """The example package's backends by module:Class, neither installed nor in the working
    directory: PYTHONPATH reaches run-many's and run's child processes (the documented rule).
    The deliberately deviating backend is red until its entry is written; the other is green."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    files = [
        str(ROOT / "layercontract" / "suites" / "test_train_dropout.py"),
        str(ROOT / "layercontract" / "suites" / "test_input_arguments.py"),
    ]
    selection = ["--", *files]
    result = run(
        [
            sys.executable,
            "-m",
            "layercontract.spec.harness.cli",
            "run-many",
            EXAMPLE_SPEC,
            LENIENT,
            "--out",
            str(tmp_path / "out"),
            *[a for f in files for a in ("-s", f)],
        ],
        cwd=elsewhere,
        timeout=600,
        PYTHONPATH=str(EXAMPLE),
    )
    assert result.returncode == 1, output(result)  # the lenient backend's unexplained deviation
    import json

    records = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "out").glob("example-*.json")}
    assert set(records) == {"example-keras-numpy", "example-keras-numpy-lenient"}, output(result)
    unexpected = {
        name: sorted({t["nodeid"].split("[")[0] for t in r["tests"] if t["outcome"] == "fail"})
        for name, r in records.items()
    }
    assert unexpected == {"example-keras-numpy": [], "example-keras-numpy-lenient": [DROPOUT_RATE_CHECK]}, unexpected

    # its entry written (a copy of the shipped file plus one entry): the same run is green
    own = tmp_path / "lenient.toml"
    shipped = EXAMPLE / "layercontract_example_adapter" / "example-keras-numpy-lenient.toml"
    own.write_text(
        shipped.read_text(encoding="utf-8") + LENIENT_ENTRY.format(test=DROPOUT_RATE_CHECK), encoding="utf-8"
    )
    result = run(
        [
            sys.executable,
            "-m",
            "layercontract.spec.harness.cli",
            "run",
            "--backend",
            LENIENT,
            "--out",
            str(tmp_path / "out2"),
            *selection,
            "--expectations",
            str(own),
        ],
        cwd=elsewhere,
        timeout=600,
        PYTHONPATH=str(EXAMPLE),
    )
    assert result.returncode == 0, output(result)

    # without PYTHONPATH and outside the package's directory, the adapter is not importable: one error
    result = run(
        [
            sys.executable,
            "-m",
            "layercontract.spec.harness.cli",
            "run",
            "--backend",
            LENIENT,
            "--out",
            str(tmp_path / "out3"),
            *selection,
        ],
        cwd=elsewhere,
        timeout=120,
    )
    assert result.returncode == 2 and "layercontract_example_adapter" in output(result), output(result)
    # ...and from the package's own directory it is (the working directory is put on the children's path)
    result = run(
        [sys.executable, "-m", "layercontract.spec.harness.cli", "doctor", "--backend", LENIENT],
        cwd=EXAMPLE,
        timeout=300,
    )
    assert result.returncode == 0, output(result)
