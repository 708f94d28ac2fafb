"""Mutation testing of the suites: with any one fault of reference_impl/faults/ switched on in the
reference, the suites must fail, and fail on the clauses the fault targets.

The runs (one process per fault, forked from a warm zygote) are in spec/harness/fault_runs.py,
shared with `layercontract kill-matrix`. Here each fault runs the checks that cite its target
clauses (a clause's outcome comes from exactly those checks, so "killed on its targets" is
decided the same as in a run of every check) without hypothesis's shrinking; a known survivor
runs every check, since any failure counts as a kill. `layercontract kill-matrix` (CI) runs
every check for every fault.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
import textwrap

import pytest

from layercontract.reference_impl import faults
from layercontract.spec import clauses as spec_clauses
from layercontract.spec.harness import clause_citations
from layercontract.spec.harness.fault_runs import _env, runs_for

ROOT = pathlib.Path(__file__).resolve().parents[2]

# Under xdist (the README test command) every test here runs in one worker: one session fixture,
# one zygote.
pytestmark = pytest.mark.xdist_group("faults")

USAGE_ERROR = 4
TESTS_FAILED = 1


@pytest.fixture(scope="session")
def suite_runs(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("fault-runs")
    cited = clause_citations.cited_clauses()
    checks = {
        name: sorted({check for cid in fault.targets for check in cited.get(cid, [])})
        for name, fault in faults.FAULTS.items()
    }
    # Only outcomes are read here: no shrinking (the faults profile), no source in failure reports.
    runs = runs_for(
        [*faults.FAULTS, *faults.KNOWN_SURVIVORS], workdir, checks=checks, profile="faults", pytest_args=["--tb=line"]
    )
    yield runs
    runs.close()


# ------------------------------------------------------------- every fault is killed
@pytest.mark.parametrize("name", list(faults.FAULTS))
def test_suites_kill_the_fault_on_its_target_clauses(suite_runs, name):
    fault = faults.FAULTS[name]
    run = suite_runs.get(name)
    assert run.returncode == TESTS_FAILED, (
        f"fault {name} ({fault.description}): expected the suites to fail (exit 1), got exit "
        f"{run.returncode}:\n{run.tail()}"
    )
    assert run.record is not None, f"no run record for fault {name}:\n{run.tail()}"
    assert run.record["backend"] == f"reference+fault={name}", run.record["backend"]
    errors = run.clauses_with("harness-error")
    assert not errors, (
        f"fault {name}: harness errors (the fault broke the harness, not a clause) on {sorted(errors)}:\n{run.tail()}"
    )
    killed = run.clauses_with("fail")
    assert killed & set(fault.targets), (
        f"fault {name} ({fault.description}) survived on all its targets {list(fault.targets)}; "
        f"clauses that failed: {sorted(killed) or 'none'}"
    )
    missed = [cid for cid in fault.targets if cid not in killed]
    assert not missed, (
        f"fault {name}: targets {missed} did not fail (failed: {sorted(killed)}); "
        f"drop them from its targets or strengthen their checks"
    )


def test_known_survivors_still_survive(suite_runs):
    """A known survivor documents a weak check; when the suites start killing it, it belongs in FAULTS."""
    now_killed = {}
    for name, fault in faults.KNOWN_SURVIVORS.items():
        run = suite_runs.get(name)
        assert run.record is not None, f"no run record for {name}:\n{run.tail()}"
        killed = run.clauses_with("fail") | run.clauses_with("harness-error")
        if run.returncode != 0 or killed:
            now_killed[name] = f"{sorted(killed)} (weak check was: {fault.weak_check})"
    assert not now_killed, f"known survivors now killed; move them to FAULTS: {now_killed}"


# ------------------------------------------------------------------ the registry
def test_there_are_at_least_25_faults():
    assert len(faults.FAULTS) >= 25


@pytest.mark.parametrize("name", [*faults.FAULTS, *faults.KNOWN_SURVIVORS])
def test_each_fault_is_documented_and_targets_applicable_clauses(name):
    fault = faults.get(name)
    clauses = spec_clauses.load()
    assert fault.name == name and name.isidentifier()
    assert fault.description and "\n" not in fault.description
    assert len(fault.doc.splitlines()) > 2, f"{name}: the docstring must say what the fault breaks"
    assert "Breaks:" in fault.doc, f"{name}: the docstring must say what the fault breaks ('Breaks: ...')"
    assert fault.targets, f"{name}: no target clauses"
    for cid in fault.targets:
        assert cid in clauses, f"{name}: unknown clause {cid}"
        assert clauses[cid].applies_to(faults.FaultyReference(name).edition), (
            f"{name}: target {cid} does not apply to the reference's edition, so it can never fail"
        )
    if name in faults.KNOWN_SURVIVORS:
        assert fault.weak_check, f"{name}: a known survivor must name the weak check"


def test_every_clause_is_targeted_by_a_fault_or_says_why_none_applies():
    clauses = spec_clauses.load()
    targeted = {cid for fault in faults.FAULTS.values() for cid in fault.targets}
    exempt = faults.NO_FAULT_APPLIES
    assert not set(exempt) - set(clauses), (
        f"NO_FAULT_APPLIES names unknown clauses {sorted(set(exempt) - set(clauses))}"
    )
    assert not set(exempt) & targeted, (
        f"clauses both targeted and in NO_FAULT_APPLIES: {sorted(set(exempt) & targeted)}"
    )
    assert all(reason.strip() for reason in exempt.values())
    uncovered = sorted(set(clauses) - targeted - set(exempt))
    assert not uncovered, (
        f"no fault targets {uncovered}: add a fault to reference_impl/faults/, or list the clause in "
        f"NO_FAULT_APPLIES with the reason"
    )


def test_faults_apply_and_reset_cleanly_in_a_fresh_process():
    """Every fault finds its edit sites in reference_impl, and reset() restores every binding."""
    script = textwrap.dedent("""
        import sys
        from layercontract.reference_impl import faults
        from layercontract import reference_impl

        MODULES = [m for n, m in sorted(sys.modules.items()) if n.startswith("layercontract.reference_impl")]

        def bindings():
            found = {}
            for m in MODULES:
                for k, v in vars(m).items():
                    found[(m.__name__, k)] = v
                    if isinstance(v, type) and v.__module__ == m.__name__:
                        found.update({(m.__name__, k, a): b for a, b in vars(v).items()})
                    elif type(v) is dict:
                        found.update({(m.__name__, k, repr(a)): b for a, b in v.items()})
            return found

        before = bindings()
        problems = []
        for name in [*faults.FAULTS, *faults.KNOWN_SURVIVORS]:
            try:
                faults.get(name).apply()
                assert faults.active() == name
            except Exception as e:
                problems.append(f"{name}: apply failed: {type(e).__name__}: {e}")
            faults.reset()
            after = bindings()
            changed = [k for k in before.keys() | after.keys() if before.get(k) is not after.get(k)]
            if changed:
                problems.append(f"{name}: reset() left {sorted(map(str, changed))[:5]} changed")
        print("\\n".join(problems))
        sys.exit(1 if problems else 0)
    """)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_one_fault_per_process():
    assert faults.active() is None  # this process never applies faults
    from layercontract.reference_impl.faults import _machinery  # where the active fault is kept

    with pytest.raises(RuntimeError, match="already active"):
        _machinery._active = "something_else"
        try:
            next(iter(faults.FAULTS.values())).apply()
        finally:
            _machinery._active = None


# --------------------------------------------------------------- unknown fault names
def test_unknown_fault_raises_naming_known_faults():
    with pytest.raises(faults.UnknownFault) as info:
        faults.FaultyReference("no_such_fault")
    assert issubclass(faults.UnknownFault, Exception)
    message = str(info.value)
    assert "no_such_fault" in message
    assert all(name in message for name in faults.FAULTS)


def test_unknown_fault_option_is_a_usage_error_naming_known_faults():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "layercontract/suites/test_call.py",
            "-q",
            "-p",
            "no:cacheprovider",
            "--fault",
            "no_such_fault",
        ],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == USAGE_ERROR, result.stdout + result.stderr
    assert "unknown fault 'no_such_fault'" in result.stderr
    assert all(name in result.stderr for name in faults.FAULTS)
    assert "Traceback" not in result.stdout + result.stderr
