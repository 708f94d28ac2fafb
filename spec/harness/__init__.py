"""The harness: backend adapters, expectations, the pytest plugin and the command line."""
import pytest


def clause(*clause_ids):
    """Mark a check with the clause IDs it verifies."""
    return pytest.mark.clause(*clause_ids)


def requires(*capabilities):
    """Mark a check as needing backend capabilities (see spec/harness/backend.py)."""
    return pytest.mark.requires(*capabilities)
