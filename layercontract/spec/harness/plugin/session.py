"""A chosen backend's session: its clauses, its adapter checked against the adapter contract (the
faulty reference with --fault), its expectations entries, kept as the session state (STATE);
the report header that names them."""

from __future__ import annotations

import pytest

from layercontract.spec import clauses as spec_clauses
from layercontract.spec.harness import adapter_contract as contract
from layercontract.spec.harness import contract_checks, registry
from layercontract.spec.harness.plugin.expected_failures import load_deviations
from layercontract.spec.harness.plugin.faults import faulty_adapter
from layercontract.spec.harness.plugin.options import chosen_backend
from layercontract.spec.harness.session_state import STATE, State


class Session:
    def pytest_configure(self, config):
        name = chosen_backend(config)
        if name is None:
            return
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
                f"(see docs/WRITING_AN_ADAPTER.md; check it with `layercontract doctor --backend {name}`)"
            )
        adapter = faulty_adapter(config, adapter)
        config.stash[STATE] = State(adapter, clauses, load_deviations(config, adapter, clauses))

    def pytest_report_header(self, config):
        state = config.stash.get(STATE, None)
        if state is None:
            return None
        try:
            versions = ", ".join(f"{k} {v}" for k, v in sorted(contract_checks.adapter_versions(state.adapter).items()))
        except contract_checks.AdapterFault as e:  # said once more, as a usage error, after collection
            versions = str(e)
        return [
            f"layercontract backend: {state.adapter.name} (edition {state.adapter.edition}; "
            f"capabilities: {', '.join(sorted(state.adapter.capabilities)) or 'none'})",
            f"layercontract versions: {versions}",
        ]
