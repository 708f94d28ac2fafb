"""The clauses the suites cite, read statically (AST) from suites/*.py, so that what is known is
complete whatever subset of tests a run selects: every clause has a check, every check cites
existing clauses (problems)."""

from __future__ import annotations

import ast
import functools
import pathlib

from layercontract.spec import user_cache
from layercontract.spec.harness.check_ids import SUITES_DIR


def cited_clauses(suites_dir: pathlib.Path = SUITES_DIR) -> dict[str, list[str]]:
    """clause id -> ["file::function", ...] for every `@clause(...)` decorator in the suites."""
    citations: dict[str, list[str]] = {}
    for path in sorted(suites_dir.glob("test_*.py")):
        stat = path.stat()
        for cid, test in _file_citations(str(path), stat.st_mtime_ns, stat.st_size):
            citations.setdefault(cid, []).append(test)
    return citations


@functools.cache
def _file_citations(path: str, _mtime_ns: int, _size: int) -> tuple[tuple[str, str], ...]:
    """(clause id, "file::function") pairs of one suite file, in source order. Cached per file
    version, in the process (every pytest process of a run asks several times: plugin, record,
    selection) and in the user cache (parsing the suites was a third of a small run's start-up)."""
    name = pathlib.Path(path).name
    text = pathlib.Path(path).read_text(encoding="utf-8")
    try:
        found = user_cache.parsed(text, _citations)
    except SyntaxError:
        ast.parse(text, path)  # raised again, naming the file
        raise
    return tuple((cid, f"{name}::{function}") for cid, function in found)


def _citations(source: str) -> tuple[tuple[str, str], ...]:
    """(clause id, test function) pairs of a suite file's source."""
    found = []

    def visit(body):
        # pytest collects tests from module level and from classes, so only those are looked at
        for node in body:
            if isinstance(node, ast.ClassDef):
                visit(node.body)
            if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                continue
            for deco in node.decorator_list:
                if (
                    isinstance(deco, ast.Call)
                    and getattr(deco.func, "id", getattr(deco.func, "attr", None)) == "clause"
                ):
                    found.extend(
                        (arg.value, node.name)
                        for arg in deco.args
                        if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                    )

    visit(ast.parse(source).body)
    return tuple(found)


def known_tests(suites_dir: pathlib.Path = SUITES_DIR) -> set[str]:
    """Every test function of the suites, "suites/test_x.py::test_name" (read statically)."""
    return {f"suites/{t}" for tests in cited_clauses(suites_dir).values() for t in tests}


def problems(clauses, suites_dir: pathlib.Path = SUITES_DIR) -> list[str]:
    citations = cited_clauses(suites_dir)
    found = []
    for cid in sorted(set(clauses) - set(citations)):
        found.append(f"clause {cid} has no test")
    for cid in sorted(set(citations) - set(clauses)):
        found.append(f"unknown clause {cid} cited by {', '.join(citations[cid])}")
    return found
