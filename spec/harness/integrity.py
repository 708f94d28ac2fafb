"""Spec integrity: every clause has a check; every check cites existing clauses.

Citations are read statically (AST) from suites/*.py so the check is complete whatever
subset of tests a run selects.
"""
from __future__ import annotations

import ast
import pathlib

SUITES_DIR = pathlib.Path(__file__).resolve().parents[2] / "suites"


def cited_clauses(suites_dir: pathlib.Path = SUITES_DIR) -> dict[str, list[str]]:
    """clause id -> ["file::function", ...] for every `@clause(...)` decorator in the suites."""
    citations: dict[str, list[str]] = {}
    for path in sorted(suites_dir.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                continue
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and getattr(deco.func, "id", getattr(deco.func, "attr", None)) == "clause":
                    for arg in deco.args:
                        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                            citations.setdefault(arg.value, []).append(f"{path.name}::{node.name}")
    return citations


def problems(clauses, suites_dir: pathlib.Path = SUITES_DIR) -> list[str]:
    citations = cited_clauses(suites_dir)
    found = []
    for cid in sorted(set(clauses) - set(citations)):
        found.append(f"clause {cid} has no test")
    for cid in sorted(set(citations) - set(clauses)):
        found.append(f"unknown clause {cid} cited by {', '.join(citations[cid])}")
    return found
