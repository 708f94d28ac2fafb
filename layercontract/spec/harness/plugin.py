"""The pytest plugin: backend selection, clause and capability markers, expectations,
spec integrity, and the per-clause summary."""
from __future__ import annotations

import os
import pathlib

import pytest
from hypothesis import HealthCheck, Phase, settings

from layercontract.spec import clauses as spec_clauses
from layercontract.spec.harness import expectations as expectations_mod
from layercontract.spec.harness import backend as contract
from layercontract.reports import records
from layercontract.spec.harness import contract_checks, integrity, outcomes, registry

ENV_BACKEND = "LAYERCONTRACT_BACKEND"
INI_BACKEND = "layercontract_backend"
# The per-test timeout (--test-timeout) and the progress journal (--journal) for run-many; the
# run record (--record). This module is registered by the `pytest11` entry point, so the whole
# harness reaches any pytest run where layercontract is installed - and stays inert there
# unless a backend is chosen (see chosen_backend).
pytest_plugins = ["layercontract.spec.harness.watchdog", "layercontract.reports.record"]

# Settings every layercontract run needs, applied by the plugin (not by an ini file, which a run
# from outside the checkout does not read).
FILTERWARNINGS = [
    # numpy 2 warns when it converts an object whose __array__ lacks `copy` (Keras Variables,
    # torch tensors). Our code must not take that path (the adapters use native exporters):
    # an error when the warning is attributed to our modules...
    "error:__array__ implementation doesn't accept a copy keyword:DeprecationWarning:layercontract(\\.|$)",
    # ...and ignored only where Keras (torch/jax backends) and torch's pytree take it internally.
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning:(keras\\.src\\.backend|torch\\.utils\\._pytree)",
]
DEFAULT_HYPOTHESIS_PROFILE = "ci"

# Hypothesis profiles, registered at import so that `--hypothesis-profile` finds them.
#   ci        the default (pyproject addopts, so .ci/run and `layercontract run`): derandomized,
#             the same examples on every run and every backend; no example database, so a
#             CI run writes nothing to disk.
#   dev       quick local runs: few random examples; failing examples are kept in the local
#             database .hypothesis/ (gitignored) and replayed first on the next run.
#   thorough  scheduled runs: 10x ci's examples, random; vary them with --hypothesis-seed=N.
#   faults    fault runs of tests/test_faults.py: ci's examples, no shrinking or explaining (only
#             whether a check fails matters there, and shrinking is most of a failing check's time).
# All: no deadline (framework warm-up is slow), print_blob to reproduce a failure.
CI_EXAMPLES = 25
_SUPPRESSED = [HealthCheck.too_slow, HealthCheck.differing_executors]
settings.register_profile("ci", max_examples=CI_EXAMPLES, derandomize=True, database=None, deadline=None,
                          print_blob=True, suppress_health_check=_SUPPRESSED)
# derandomize=False is explicit: hypothesis defaults it to True when it detects CI (CI=true).
settings.register_profile("dev", max_examples=10, derandomize=False, deadline=None, print_blob=True,
                          suppress_health_check=_SUPPRESSED)
settings.register_profile("thorough", max_examples=10 * CI_EXAMPLES, derandomize=False, deadline=None,
                          print_blob=True, suppress_health_check=_SUPPRESSED)
settings.register_profile("faults", settings.get_profile("ci"),
                          phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target])
SUITES_DIR = integrity.SUITES_DIR


def pytest_addoption(parser):
    group = parser.getgroup("layercontract")
    group.addoption("--backend", default=None,
                    help=f"backend to check (default: ${ENV_BACKEND}, else the ini option "
                         f"{INI_BACKEND}); one of {', '.join(registry.BUILTIN)} or "
                         "'package.module:AdapterClass'. Without any of them the plugin is inert.")
    parser.addini(INI_BACKEND, "backend to check when neither --backend nor "
                               f"${ENV_BACKEND} is given", default="")
    group.addoption("--expectations", default=None,
                    help="expectations file to use instead of the backend's own")
    group.addoption("--fault", default=None,
                    help="switch on one named fault in the reference backend (see reference_impl/faults/)")


def chosen_backend(config) -> str | None:
    """The backend this run checks: --backend, else $LAYERCONTRACT_BACKEND, else the ini option;
    None when none is given (the plugin then does nothing)."""
    return (config.getoption("backend") or os.environ.get(ENV_BACKEND) or config.getini(INI_BACKEND)
            or None)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """Arguments hypothesis's own plugin would fail on with an internal error: one usage error."""
    profile = config.getoption("hypothesis_profile", None)
    if profile is None or chosen_backend(config) is None:
        return None
    try:
        settings.get_profile(profile)
    except Exception:
        raise pytest.UsageError(
            f"unknown hypothesis profile {profile!r}: give one of ci, dev, thorough "
            "(--hypothesis-profile)") from None
    return None


def pytest_configure(config):
    config.addinivalue_line("markers", "clause(*ids): the spec clauses a check verifies")
    config.addinivalue_line("markers", "requires(*capabilities): backend capabilities a check needs")
    name = chosen_backend(config)
    if name is None:
        return
    config.option.backend = name
    for line in FILTERWARNINGS:
        config.addinivalue_line("filterwarnings", line)
    if config.getoption("hypothesis_profile", None) is None:
        settings.load_profile(DEFAULT_HYPOTHESIS_PROFILE)
        config.option.hypothesis_profile = DEFAULT_HYPOTHESIS_PROFILE
    try:
        clauses = spec_clauses.load()
    except spec_clauses.SpecError as e:
        raise pytest.UsageError(f"spec/clauses.toml is invalid: {e}") from None
    try:
        adapter = registry.resolve(name)
    except registry.BackendError as e:
        raise pytest.UsageError(f"backend {name}: {e}") from None
    problem = contract.contract_problem(adapter)
    if problem:
        raise pytest.UsageError(problem)
    problems = contract_checks.attribute_problems(adapter)
    if problems:
        raise pytest.UsageError(
            f"backend {name}: the adapter does not meet the adapter contract: {'; '.join(problems)} "
            f"(see docs/WRITING_AN_ADAPTER.md; check it with `layercontract doctor --backend {name}`)")
    fault = config.getoption("fault")
    if fault:
        from layercontract.reference_impl import faults

        try:
            adapter = faults.FaultyReference(fault)
        except faults.UnknownFault as e:
            raise pytest.UsageError(str(e)) from None
    exp_option = config.getoption("expectations")
    if exp_option and not pathlib.Path(exp_option).exists():  # a FIFO or directory: the loader says so
        raise pytest.UsageError(f"expectations file {exp_option} does not exist: give an existing "
                                "file to --expectations")
    exp_path = exp_option or adapter.expectations
    try:
        deviations = expectations_mod.load(exp_path, clauses)
    except expectations_mod.ExpectationsError as e:
        raise pytest.UsageError(f"expectations file {exp_path} is invalid (fix it, or check it with "
                                f"`layercontract doctor`):\n{e}") from None
    static = expectations_mod.static_problems(deviations, known_tests())
    if static:
        raise pytest.UsageError(f"expectations file {exp_path} is invalid:\n" + "\n".join(static))
    config.stash[STATE] = State(adapter, clauses, deviations)
    _watch_interrupts()


def known_tests() -> set[str]:
    """Every test function of the suites, "suites/test_x.py::test_name" (read statically)."""
    return {f"suites/{t}" for tests in integrity.cited_clauses().values() for t in tests}


# ---------------------------------------------------------------- interrupts
# Ctrl-C must stop the run and never be recorded as a test's failure: hypothesis can catch the
# KeyboardInterrupt raised inside a test and report a failure instead. The flag set here, on the
# signal itself, turns the first report after it into an interrupt of the session.
_INTERRUPTED = False


def _watch_interrupts():
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGINT)
    if getattr(previous, "_layercontract", False):
        return

    def on_sigint(signum, frame):
        global _INTERRUPTED
        _INTERRUPTED = True
        if callable(previous):
            return previous(signum, frame)
        raise KeyboardInterrupt

    on_sigint._layercontract = True
    signal.signal(signal.SIGINT, on_sigint)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if _INTERRUPTED:  # whatever the test made of the KeyboardInterrupt: the run was interrupted
        raise KeyboardInterrupt
    if getattr(report, "wasxfail", None) is not None and report.skipped and call.excinfo is not None:
        _fail_unless_the_expected_failure(item, report)
    return report


def _fail_unless_the_expected_failure(item, report):
    """An expected deviation with `match`: a failure whose first line it does not find is not
    that deviation, so the test fails, and its first line says which entry expected what."""
    state = item.config.stash.get(STATE, None)
    check = integrity.item_check_id(item)
    deviation = expectations_mod.entry_for(getattr(state, "active_deviations", ()), check)
    crash = getattr(report.longrepr, "reprcrash", None)
    observed = records.first_line(str(report.longrepr), limit=100_000, crash=getattr(crash, "message", None))
    if deviation is None or deviation.explains(observed):
        return
    report.outcome = "failed"
    del report.wasxfail
    if crash is not None:
        crash.message = deviation.mismatch(observed)  # the failure's first line, in the record too
    else:
        report.longrepr = f"E   {deviation.mismatch(observed)}\n{report.longrepr}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After the last test of a suites module (and its module fixtures), the adapter's optional
    free_memory(): caches that grow with every compiled function and shape (jax keeps each
    executable) stay bounded over a run instead of holding ~1 GB by its end."""
    result = yield
    state = item.config.stash.get(STATE, None)
    if (state is not None and state.loaded and _in_suites(item)
            and (nextitem is None or nextitem.path != item.path)):
        free_memory = getattr(state.adapter, "free_memory", None)
        if callable(free_memory):
            free_memory()
    return result


class State:
    def __init__(self, adapter, clauses, deviations):
        self.adapter = adapter
        self.clauses = clauses
        self.deviations = deviations  # every entry of the expectations file
        self.active_deviations = []    # those whose `when` holds on the loaded backend's versions
        self._namespace = None  # (namespace,) once loaded
        self._load_error = None
        self.selected = False  # the tests are selected and the backend loaded: a run can start
        self.results: dict[str, tuple[list[str], str, str]] = {}  # nodeid -> (clauses, outcome, message)

    def activate_deviations(self):
        versions = contract_checks.adapter_versions(self.adapter)  # AdapterFault: as doctor says
        self.active_deviations = [d for d in self.deviations if d.holds_on(versions)]

    @property
    def loaded(self) -> bool:
        return self._namespace is not None

    @property
    def namespace(self):
        """adapter.load(), called once per process: a load that failed (or was interrupted)
        is never tried again (the record writer asks for the versions after a failure)."""
        if self._namespace is None:
            if self._load_error is not None:
                raise RuntimeError(f"the backend did not load: {self._load_error}")
            try:
                self._namespace = (self.adapter.load(),)
            except BaseException as e:
                self._load_error = contract_checks.describe(e)
                raise
        return self._namespace[0]


STATE = pytest.StashKey[State]()


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="session")
def backend(request):
    """The backend adapter under test (to_numpy, is_symbolic, set_seed, capabilities)."""
    state = request.config.stash[STATE]
    state.namespace  # load the framework once per process
    return state.adapter


@pytest.fixture(scope="session")
def K(request):
    """The Keras-shaped namespace of the backend under test."""
    return request.config.stash[STATE].namespace


@pytest.fixture(scope="session")
def reference_K():
    """The reference implementation's namespace, for differential checks against any backend."""
    return registry.resolve("reference").load()


# ---------------------------------------------------------------- collection
def _in_suites(item) -> bool:
    return SUITES_DIR in pathlib.Path(str(item.path)).resolve().parents


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    state = config.stash.get(STATE, None)
    if state is None:  # inert: no backend chosen
        if any(_in_suites(item) for item in items):
            raise pytest.UsageError(
                "layercontract's suites need a backend: give --backend NAME (e.g. --backend reference), "
                f"set ${ENV_BACKEND}, or the ini option {INI_BACKEND}")
        return
    adapter = state.adapter
    problems = list(integrity.problems(state.clauses))
    collected_files = set()
    runnable = []  # (item, check id) of the tests that will run on this backend
    for item in items:
        if not _in_suites(item):
            continue
        check = integrity.item_check_id(item)
        item.user_properties.append(("check", check))
        collected_files.add(check.split("::", 1)[0])
        ids = [cid for mark in item.iter_markers("clause") for cid in mark.args]
        if not ids:
            problems.append(f"{item.nodeid} cites no clause")
            continue
        unknown = [cid for cid in ids if cid not in state.clauses]
        if unknown:
            problems.append(f"{item.nodeid} cites unknown clause(s) {', '.join(unknown)}")
            continue
        item.user_properties.append(("clauses", ids))
        applicable = [cid for cid in ids if state.clauses[cid].applies_to(adapter.edition)]
        if not applicable:
            item.add_marker(pytest.mark.skip(
                reason=f"{outcomes.NOT_APPLICABLE_PREFIX} clauses {', '.join(ids)} do not apply to "
                       f"edition {adapter.edition}"))
            continue
        needed = [c for mark in item.iter_markers("requires") for c in mark.args]
        missing = [c for c in needed if c not in adapter.capabilities]
        if missing:
            item.add_marker(pytest.mark.skip(
                reason=f"{outcomes.UNSUPPORTED_PREFIX} backend {adapter.name} lacks capability "
                       f"{', '.join(missing)}"))
            continue
        runnable.append((item, check))
    checks = [integrity.item_check_id(i) for i in items]
    if _whole_suite(config, checks):
        # An entry naming a parameter that does not exist can only be told from the whole
        # suite: a partial selection (a rerun command, -- suites/x.py) checks what it selects.
        problems += expectations_mod.unmatched(state.deviations, checks)
    if collected_files and not problems:
        from layercontract.spec.harness import watchdog

        watchdog._write(config, event="adapter", name=adapter.name)  # a supervisor names the record
        # Load the backend once, before any test runs: a backend that cannot load (a broken
        # adapter, Keras already imported with another backend) stops the run with one message.
        # Its versions are known only then (a Keras overlay reports the Keras it imported), and
        # they decide which version-conditioned expectations entries hold.
        try:
            state.namespace
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # the adapter's own failure, whatever its type (even sys.exit)
            problems.append(f"backend {adapter.name!r} failed to load: {contract_checks.describe(e)} "
                            f"(check it with `layercontract doctor --backend {config.option.backend}`)")
        else:
            bad = contract_checks.namespace_problems(state.namespace, set(adapter.capabilities))
            if bad:
                problems.append(f"backend {adapter.name!r}: load() returned a namespace that does not meet "
                                f"the adapter contract: {'; '.join(bad)} (check it with "
                                f"`layercontract doctor --backend {config.option.backend}`)")
            try:
                state.activate_deviations()
            except expectations_mod.ExpectationsError as e:
                problems.append(str(e))
            except contract_checks.AdapterFault as e:
                problems.append(f"backend {adapter.name!r}: {e} (check it with `layercontract doctor "
                                f"--backend {config.option.backend}`)")
    for item, check in runnable:
        deviation = expectations_mod.entry_for(state.active_deviations, check)
        if deviation is not None:
            item.add_marker(pytest.mark.xfail(strict=True, reason=deviation.describe()))
    state.selected = not problems
    if problems:
        message = "layercontract cannot run:\n  " + "\n  ".join(problems)
        if hasattr(config, "workerinput"):
            # A UsageError in an xdist worker crashes the controller and loses the message;
            # a failed collection report reaches the controller and stops the run.
            config.hook.pytest_collectreport(report=pytest.CollectReport("", "failed", message, []))
            items[:] = []
            return
        raise pytest.UsageError(message)


def _whole_suite(config, checks) -> bool:
    """True when this session collected every test of the suites (no node id selection)."""
    if any("::" in str(arg) for arg in config.args):
        return False
    return known_tests() <= {c.split("[", 1)[0] for c in checks}


def pytest_report_header(config):
    state = config.stash.get(STATE, None)
    if state is None:
        return None
    try:
        versions = ", ".join(f"{k} {v}" for k, v in sorted(contract_checks.adapter_versions(state.adapter).items()))
    except contract_checks.AdapterFault as e:  # said once more, as a usage error, after collection
        versions = str(e)
    return [f"layercontract backend: {state.adapter.name} (edition {state.adapter.edition}; "
            f"capabilities: {', '.join(sorted(state.adapter.capabilities)) or 'none'})",
            f"layercontract versions: {versions}"]


# ------------------------------------------------------------------ outcomes
def pytest_report_teststatus(report, config):
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = outcomes.skip_reason(report)
        if reason.startswith(outcomes.UNSUPPORTED_PREFIX):
            return "unsupported", "U", "UNSUPPORTED"
        if reason.startswith(outcomes.NOT_APPLICABLE_PREFIX):
            return "not applicable", "n", "NOT APPLICABLE"
    return None


def pytest_runtest_logreport(report):
    state = _state_from_report(report)
    if state is None:
        return
    ids = dict(report.user_properties).get("clauses")
    if not ids:
        return
    outcome = outcomes.classify(report)
    if outcome is None:
        return
    previous = state.results.get(report.nodeid)
    if previous and outcomes.SEVERITY.index(previous[1]) <= outcomes.SEVERITY.index(outcome):
        return  # keep the worse outcome (e.g. a teardown error after a pass)
    message = getattr(report, "wasxfail", "") or (
        outcomes.skip_reason(report) if report.skipped else str(report.longrepr or "")
    )
    state.results[report.nodeid] = (list(ids), outcome, message, report.duration)


_CONFIG = None


def _state_from_report(report):
    return _CONFIG.stash.get(STATE, None) if _CONFIG is not None else None


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    global _CONFIG
    _CONFIG = session.config


def clause_table(state) -> dict[str, dict]:
    per_clause: dict[str, list[str]] = {cid: [] for cid in state.clauses}
    for ids, outcome, _message, _duration in state.results.values():
        for cid in ids:
            per_clause.setdefault(cid, []).append(outcome)
    return {cid: {"outcome": outcomes.clause_outcome(outs), "tests": len(outs)}
            for cid, outs in per_clause.items()}


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    state = config.stash.get(STATE, None)
    if state is None or not state.results:
        return
    table = clause_table(state)
    tr = terminalreporter
    tr.section(f"layercontract: clauses on backend {state.adapter.name} (edition {state.adapter.edition})")
    for cid, row in table.items():
        if row["tests"]:
            tr.write_line(f"  {row['outcome'].upper():<20} {cid:<44} {row['tests']:>3} test(s)")
    counts: dict[str, int] = {}
    for row in table.values():
        if row["tests"]:
            counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
    tr.write_line("  clauses: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
