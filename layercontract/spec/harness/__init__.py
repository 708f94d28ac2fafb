"""The harness: backend adapters, expectations, the pytest plugin and the command line.

Importing it imports no pytest (the record, merge and diff modules run without it); the
markers below reach pytest only when a suite module applies them."""


def clause(*clause_ids):
    """Mark a check with the clause IDs it verifies."""
    import pytest

    return pytest.mark.clause(*clause_ids)


def requires(*capabilities):
    """Mark a check as needing backend capabilities (see spec/harness/adapter_contract.py)."""
    import pytest

    return pytest.mark.requires(*capabilities)
