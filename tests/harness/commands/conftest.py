import pytest

from tests.harness.commands.bad_input import make_place


@pytest.fixture(scope="session")
def place(tmp_path_factory):
    """The test_bad_input_*.py modules' directory outside the checkout, once per process: every
    test leaves its --out as it found it (most of them check that they did)."""
    return make_place(tmp_path_factory)
