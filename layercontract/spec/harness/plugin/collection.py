"""Collection of the suites on a chosen backend: the spec's integrity (every clause checked, every
check citing known clauses), each test's check id and clauses, the skips of a missing capability
or another edition, the backend loaded once before any test runs, the expected deviations marked;
any problem stops the run before a test runs, with one message."""

from __future__ import annotations

import pytest

from layercontract.spec.harness import check_ids, clause_citations, contract_checks, outcomes, watchdog
from layercontract.spec.harness import expectations as expectations_mod
from layercontract.spec.harness.plugin.expected_failures import mark_expected
from layercontract.spec.harness.plugin.options import ENV_BACKEND, INI_BACKEND
from layercontract.spec.harness.session_state import STATE


def whole_suite(config, checks) -> bool:
    """True when this session collected every test of the suites (no node id selection)."""
    if any("::" in str(arg) for arg in config.args):
        return False
    return clause_citations.known_tests() <= {c.split("[", 1)[0] for c in checks}


class Collection:
    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session, config, items):
        state = config.stash.get(STATE, None)
        if state is None:  # inert: no backend chosen
            if any(check_ids.in_suites(item) for item in items):
                raise pytest.UsageError(
                    "layercontract's suites need a backend: give --backend NAME (e.g. --backend reference), "
                    f"set ${ENV_BACKEND}, or the ini option {INI_BACKEND}"
                )
            return
        adapter = state.adapter
        problems = list(clause_citations.problems(state.clauses))
        collected_files = set()
        runnable = []  # (item, check id) of the tests that will run on this backend
        for item in items:
            if not check_ids.in_suites(item):
                continue
            check = check_ids.item_check_id(item)
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
                item.add_marker(
                    pytest.mark.skip(
                        reason=f"{outcomes.NOT_APPLICABLE_PREFIX} clauses {', '.join(ids)} do not apply to "
                        f"edition {adapter.edition}"
                    )
                )
                continue
            needed = [c for mark in item.iter_markers("requires") for c in mark.args]
            missing = [c for c in needed if c not in adapter.capabilities]
            if missing:
                item.add_marker(
                    pytest.mark.skip(
                        reason=f"{outcomes.UNSUPPORTED_PREFIX} backend {adapter.name} lacks capability "
                        f"{', '.join(missing)}"
                    )
                )
                continue
            runnable.append((item, check))
        checks = [check_ids.item_check_id(i) for i in items]
        if whole_suite(config, checks):
            # An entry naming a parameter that does not exist can only be told from the whole
            # suite: a partial selection (a rerun command, -- suites/x.py) checks what it selects.
            problems += expectations_mod.unmatched(state.deviations, checks)
        if collected_files and not problems:
            watchdog.journal_event(config, event="adapter", name=adapter.name)  # a supervisor names the record
            # Load the backend once, before any test runs: a backend that cannot load (a broken
            # adapter, Keras already imported with another backend) stops the run with one message.
            # Its versions are known only then (a Keras overlay reports the Keras it imported), and
            # they decide which version-conditioned expectations entries hold.
            try:
                _ = state.namespace  # loads the backend
            except KeyboardInterrupt:
                raise
            except BaseException as e:  # the adapter's own failure, whatever its type (even sys.exit)
                problems.append(
                    f"backend {adapter.name!r} failed to load: {contract_checks.describe(e)} "
                    f"(check it with `layercontract doctor --backend {config.option.backend}`)"
                )
            else:
                bad = contract_checks.namespace_problems(state.namespace, set(adapter.capabilities))
                if bad:
                    problems.append(
                        f"backend {adapter.name!r}: load() returned a namespace that does not meet "
                        f"the adapter contract: {'; '.join(bad)} (check it with "
                        f"`layercontract doctor --backend {config.option.backend}`)"
                    )
                try:
                    state.activate_deviations()
                except expectations_mod.ExpectationsError as e:
                    problems.append(str(e))
                except contract_checks.AdapterFault as e:
                    problems.append(
                        f"backend {adapter.name!r}: {e} (check it with `layercontract doctor "
                        f"--backend {config.option.backend}`)"
                    )
        mark_expected(state, runnable)
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
