"""The checkout's static checks, part of the test command: ruff (lint and format), mypy over the harness,
reports and backends (every import of layercontract resolved from the folders), and the import
contracts of pyproject.toml (lint-imports: no import cycle, the harness in layers, records free of
pytest, suites free of backends). A missing tool fails: it is pinned in the dev extra."""

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent


def run_tool(name: str, *args: str) -> subprocess.CompletedProcess:
    tool = BIN / name
    assert tool.is_file(), f"{name} is not installed in {BIN}: install the dev extra (.ci/install does)"
    return subprocess.run([str(tool), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(
    "name, args",
    [
        ("ruff", ("check", "--no-cache", "layercontract", "tests", "examples", "conftest.py")),
        ("ruff", ("format", "--check", "--no-cache", "layercontract", "tests", "examples", "conftest.py")),
        ("mypy", ()),  # files and settings: pyproject.toml [tool.mypy]
        ("lint-imports", ("--no-cache",)),
    ],
    ids=["ruff", "ruff-format", "mypy", "lint-imports"],
)
def test_static_check_is_clean(name, args):
    result = run_tool(name, *args)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
