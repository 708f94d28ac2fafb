"""The plugin's options and markers, and which backend a run checks: --backend, else
$LAYERCONTRACT_BACKEND, else the ini option layercontract_backend; none of them leaves the
plugin inert (installing layercontract changes no other test run)."""

from __future__ import annotations

import os

from layercontract.spec.harness import registry

ENV_BACKEND = "LAYERCONTRACT_BACKEND"
INI_BACKEND = "layercontract_backend"


def chosen_backend(config) -> str | None:
    """The backend this run checks: --backend, else $LAYERCONTRACT_BACKEND, else the ini option;
    None when none is given (the plugin then does nothing)."""
    return config.getoption("backend") or os.environ.get(ENV_BACKEND) or config.getini(INI_BACKEND) or None


class Options:
    """--backend, --expectations, --fault and the ini option (registered first of the plugin's
    parts: its options open the "layercontract" group of `pytest --help`), the markers."""

    def pytest_addoption(self, parser):
        group = parser.getgroup("layercontract")
        group.addoption(
            "--backend",
            default=None,
            help=f"backend to check (default: ${ENV_BACKEND}, else the ini option "
            f"{INI_BACKEND}); one of {', '.join(registry.BUILTIN)} or "
            "'package.module:AdapterClass'. Without any of them the plugin is inert.",
        )
        parser.addini(INI_BACKEND, f"backend to check when neither --backend nor ${ENV_BACKEND} is given", default="")
        group.addoption("--expectations", default=None, help="expectations file to use instead of the backend's own")
        group.addoption(
            "--fault",
            default=None,
            help="switch on one named fault in the reference backend (see reference_impl/faults/)",
        )

    def pytest_configure(self, config):
        config.addinivalue_line("markers", "clause(*ids): the spec clauses a check verifies")
        config.addinivalue_line("markers", "requires(*capabilities): backend capabilities a check needs")
        name = chosen_backend(config)
        if name is not None:
            config.option.backend = name  # what the record, the journal and rerun commands name
