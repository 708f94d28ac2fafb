"""Merging run records into one clause x backend matrix, and writing its reports.

    records = [load_record(p) for p in paths]          # ReportError naming a bad file
    matrix = build(records, kill_matrix=None)          # the data of matrix.json
    write_reports(paths, out_dir, kill_matrix_path)    # index.html, summary.md, matrix.json

A column is a (backend, version) pair: the version is the backend's key distribution's (the one
its adapter declares, else versions.keras, or tf-keras's, or the reference's: records.key_version),
so two Keras versions of one backend are two columns (named "keras-jax@3.15.1"; a backend with one
version keeps its plain name). Records of one column are combined when all their versions and edition agree (a run split in parts, or a
rerun: for a test in several records the latest record's result wins, and "not run" never
replaces a result); records of one column that disagree on other versions are an error.
Tests carry their deviation as data (kind, observed, reason, upstream and its URL, expectations
file and entry) and their message's first line, as records.upgrade reads them from a record of
any version.
Everything is read and validated, and every output rendered, before anything is written;
each output is written atomically.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import json
import pathlib

from layercontract.reports import findings_view, records, render, schema
from layercontract.reports.schema import ReportError
from layercontract.spec.harness.outcomes import NOT_RUN, SEVERITY, UNEXPECTED, clause_outcome

OUTPUTS = ("index.html", "summary.md", "matrix.json")


@dataclasses.dataclass
class Loaded:
    path: pathlib.Path
    data: dict  # as written (any readable version): _combine reads its tests through records.upgrade


def load_record(path) -> Loaded:
    return Loaded(pathlib.Path(path), schema.load(path, schema.RUN_SCHEMAS))


def load_records(paths) -> list[Loaded]:
    """All records, or one ReportError listing every bad file (each line names its file)."""
    loaded, problems = [], []
    if not paths:
        raise ReportError("no run records given")
    for path in paths:
        try:
            loaded.append(load_record(path))
        except ReportError as e:
            problems.append(str(e))
    if not problems:
        problems = _conflicts(loaded)
    if problems:
        raise ReportError("\n".join(problems))
    return loaded


def _column(data: dict) -> tuple[str, str | None]:
    return data["backend"], records.key_version(data)[1]


def _conflicts(loaded: list[Loaded]) -> list[str]:
    first: dict[tuple, Loaded] = {}
    problems = []
    for item in loaded:
        column = _column(item.data)
        backend = item.data["backend"]
        if column not in first:
            first[column] = item
            continue
        other = first[column]
        for field in ("versions", "edition"):
            if item.data[field] != other.data[field]:
                a, b = other.data[field], item.data[field]
                if field == "versions":
                    changed = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
                    a = ", ".join(f"{k} {a.get(k, '-')}" for k in changed)
                    b = ", ".join(f"{k} {b.get(k, '-')}" for k in changed)
                problems.append(
                    f"{item.path}: backend {backend!r} with {field} {b}, but {other.path} has {field} {a}: "
                    f"merge records of one {field.rstrip('s')} per (backend, {records.key_version(item.data)[0] or 'version'}) column"
                )
    return problems


def load_kill_matrix(path) -> dict | None:
    if path is None:
        return None
    data = schema.load(path, schema.KILL_MATRIX)
    return {"source": str(path), "faults": data["faults"]}


# -------------------------------------------------------------------- merging
def _backend_order(names: list[str]) -> list[str]:
    from layercontract.spec.harness import registry

    builtin = [n for n in registry.BUILTIN if n in names]
    return builtin + [n for n in names if n not in builtin]


def _question_coverage() -> dict | None:
    """The users' questions (spec/questions.toml) by status: settled, partial, open, out-of-scope,
    and in_scope (all but out-of-scope); None when the list cannot be read."""
    from layercontract.spec import questions

    try:
        return questions.coverage(questions.load())
    except (OSError, questions.QuestionsError):
        return None


def _spec():
    """The clauses, areas and static citations of this checkout (or what the records tell)."""
    from layercontract.spec import clauses as spec_clauses
    from layercontract.spec.harness import clause_citations

    try:
        clauses = spec_clauses.load()
    except spec_clauses.SpecError as e:
        return {}, dict(spec_clauses.AREAS), {}, f"spec/clauses.toml could not be read ({e}): statements are missing"
    try:
        cited = clause_citations.cited_clauses()
    except (OSError, SyntaxError) as e:
        cited, warning = {}, f"the suites could not be read ({e}): spec coverage is missing"
    else:
        warning = None
    return clauses, dict(spec_clauses.AREAS), cited, warning


def _combine(items: list[Loaded]) -> dict:
    """One column's entry from its records (same backend, versions, edition)."""
    items = sorted(items, key=lambda i: i.data["started"])
    last = items[-1].data
    backend = last["backend"]
    tests: dict[str, dict] = {}
    for item in items:
        for test in records.upgrade(item.data)["tests"]:
            old = tests.get(test["nodeid"])
            if old is None or test["outcome"] != NOT_RUN or old["outcome"] == NOT_RUN:
                tests[test["nodeid"]] = {k: v for k, v in test.items() if k != "nodeid"}
    statuses = [i.data["status"] for i in items]
    status = next((s for s in ("running", "interrupted") if s in statuses), "complete")
    reasons = [f"{i.path.name}: {i.data['stop_reason']}" for i in items if i.data["stop_reason"]]
    keep = (
        "edition",
        "capabilities",
        "versions",
        "harness",
        "python",
        "platform",
        "git_commit",
        "git_dirty",
        "hypothesis",
        "options",
    )
    dist, version = records.key_version(last)
    entry = {
        "backend": backend,
        "version": version,
        "version_of": dist,
        "requested_backend": last.get("requested_backend") or backend,
        "contract_version": last.get("contract_version"),
        "record_schema": last["schema"],
    }
    entry.update({k: last.get(k) for k in keep})
    entry.update(
        {
            "status": status,
            "complete": status == "complete",
            "stop_reason": "; ".join(reasons) or None,
            "sources": [str(i.path) for i in items],
            "git_commits": sorted({i.data["git_commit"] for i in items}),
            "started": items[0].data["started"],
            "finished": last["finished"],
            "duration_s": round(sum(i.data["duration_s"] for i in items), 3),
            "exit_status": max(
                (i.data["exit_status"] for i in items if i.data["exit_status"] is not None), default=None
            ),
            "tests": dict(sorted(tests.items())),
        }
    )
    entry["counts"] = _counts(t["outcome"] for t in tests.values())
    return entry


def _counts(outs) -> dict:
    counts = collections.Counter(outs)
    return {o: counts[o] for o in SEVERITY if counts[o]}


def _version_key(version: str | None):
    from packaging.version import InvalidVersion, Version

    try:
        return (0, Version(version or ""), "")
    except InvalidVersion:
        return (1, None, version or "")


def _columns(loaded: list[Loaded]) -> dict[str, list[Loaded]]:
    """Column name -> its records, in built-in backend order, then version order. A backend with
    one version in the merge is named by itself; one with several by "backend@version"."""
    by_column: dict[tuple, list[Loaded]] = {}
    for item in loaded:
        by_column.setdefault(_column(item.data), []).append(item)
    versions_of = collections.defaultdict(list)
    for backend, version in by_column:
        versions_of[backend].append(version)
    columns = {}
    for backend in _backend_order(list(versions_of)):
        ordered = sorted(versions_of[backend], key=_sortable_version)
        for version in ordered:
            name = backend if len(ordered) == 1 else f"{backend}@{version or 'unknown'}"
            columns[name] = by_column[(backend, version)]
    return columns


def _sortable_version(version: str | None):
    kind, parsed, raw = _version_key(version)
    return (kind, parsed) if kind == 0 else (kind, raw)


def _history(backends: dict, clauses: dict) -> dict:
    """Per backend with several versions: its columns in version order and the clause outcomes
    that changed between consecutive versions."""
    history = {}
    per_backend = collections.defaultdict(list)
    for name, entry in backends.items():
        per_backend[entry["backend"]].append(name)
    for backend, names in per_backend.items():
        if len(names) < 2:
            continue
        changes = []
        for old, new in zip(names, names[1:]):
            for cid, clause in clauses.items():
                a = clause["results"].get(old, {}).get("outcome")
                b = clause["results"].get(new, {}).get("outcome")
                if a != b:
                    changes.append(
                        {
                            "from": old,
                            "to": new,
                            "from_version": backends[old]["version"],
                            "to_version": backends[new]["version"],
                            "clause": cid,
                            "old": a,
                            "new": b,
                        }
                    )
        history[backend] = {"columns": names, "versions": [backends[n]["version"] for n in names], "changes": changes}
    return history


def build(loaded: list[Loaded], kill_matrix: dict | None = None, generated: str | None = None) -> dict:
    spec_clauses, areas, cited, warning = _spec()
    warnings = [warning] if warning else []
    backends = {name: _combine(items) for name, items in _columns(loaded).items()}

    # clause rows: the spec's order, then clauses only the records know
    per_backend: dict[str, dict[str, list[str]]] = {}
    for name, entry in backends.items():
        for nodeid, test in entry["tests"].items():
            for cid in test["clauses"]:
                per_backend.setdefault(cid, {}).setdefault(name, []).append(nodeid)
    ids = list(spec_clauses) + sorted(set(per_backend) - set(spec_clauses))
    unknown = [cid for cid in ids if cid not in spec_clauses]
    if unknown and spec_clauses:
        warnings.append(
            f"{len(unknown)} clause(s) in the records are not in this checkout's spec: {', '.join(unknown)}"
        )
    clauses = {}
    for cid in ids:
        clause = spec_clauses.get(cid)
        area = clause.area if clause else cid.split(".")[0]
        areas.setdefault(area, area)
        results = {}
        for name, nodeids in per_backend.get(cid, {}).items():
            outs = [backends[name]["tests"][n]["outcome"] for n in nodeids]
            results[name] = {"outcome": clause_outcome(outs), "tests": nodeids, "counts": _counts(outs)}
        clauses[cid] = {
            "area": area,
            "level": clause.level if clause else None,
            "statement": clause.statement if clause else None,
            "editions": list(clause.editions) if clause else [],
            "in_spec": clause is not None,
            "cited_by": cited.get(cid, []),
            "results": {name: results[name] for name in backends if name in results},
        }
    for name, entry in backends.items():
        entry["clause_counts"] = _counts(
            c["results"][name]["outcome"] for c in clauses.values() if name in c["results"]
        )

    commits = sorted({c for e in backends.values() for c in e["git_commits"]})
    if len(commits) > 1:
        warnings.append(
            f"the records come from {len(commits)} suite versions (git commits {', '.join(c[:10] for c in commits)})"
        )
    for name, entry in backends.items():
        if not entry["complete"]:
            warnings.append(f"{name}: the run is {entry['status']} ({entry['stop_reason']})")

    killed = None
    if kill_matrix is not None:
        # first_message is optional in the kill-matrix format: every fault gets one (maybe null)
        faults = {n: {**f, "first_message": f.get("first_message")} for n, f in kill_matrix["faults"].items()}
        survivors = sorted(n for n, f in faults.items() if not f["killed_by"])
        kills = collections.Counter(cid for f in faults.values() for cid in set(f["killed_by"]))
        killed = {
            "source": kill_matrix["source"],
            "faults": faults,
            "killed": len(faults) - len(survivors),
            "survivors": survivors,
            "kills_per_clause": dict(sorted(kills.items())),
        }

    spec_ids = list(spec_clauses)
    return {
        "schema": schema.MATRIX_SCHEMA,
        "generated": generated or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_commits": commits,
        "areas": {a: areas[a] for a in areas if any(c["area"] == a for c in clauses.values())},
        "backends": backends,
        "clauses": clauses,
        "totals": {
            "backends": len(backends),
            "clauses": len(clauses),
            "cells": _counts(r["outcome"] for c in clauses.values() for r in c["results"].values()),
            "tests": _counts(t["outcome"] for e in backends.values() for t in e["tests"].values()),
            "unexpected": sum(1 for e in backends.values() for t in e["tests"].values() if t["outcome"] in UNEXPECTED),
        },
        "coverage": {
            "spec_clauses": len(spec_ids),
            "tests_per_clause": {cid: len(cited.get(cid, [])) for cid in spec_ids},
            "without_tests": [cid for cid in spec_ids if not cited.get(cid)],
            "not_run_anywhere": [cid for cid in spec_ids if not clauses[cid]["results"]],
            "questions": _question_coverage(),
        },
        "history": _history(backends, clauses),
        "findings": findings_view.build(backends),
        "kill_matrix": killed,
        "warnings": warnings,
    }


# ------------------------------------------------------------------- writing
def render_all(matrix: dict, report_name: str = "index.html") -> dict[str, str]:
    return {
        "index.html": render.html(matrix),
        "summary.md": render.markdown(matrix, report_name=report_name),
        "matrix.json": json.dumps(matrix, indent=1, allow_nan=False) + "\n",
    }


def write_reports(record_paths, out_dir, kill_matrix_path=None, names=None, shown_as=None) -> dict[str, pathlib.Path]:
    """Validate every input, render every output, then write them (each atomically).
    `names` renames the outputs (e.g. {"index.html": "keras-jax.html"}; None drops one);
    `shown_as` maps a record's path to the path the outputs name it by (where it will be)."""
    loaded = load_records(record_paths)
    for item in loaded:
        item.path = pathlib.Path((shown_as or {}).get(item.path, item.path))
    kill_matrix = load_kill_matrix(kill_matrix_path)
    names = {**{n: n for n in OUTPUTS}, **(names or {})}
    texts = render_all(build(loaded, kill_matrix), report_name=names["index.html"] or "index.html")
    out_dir = pathlib.Path(out_dir)
    paths = {name: out_dir / names[name] for name in texts if names[name]}
    schema.write_all({paths[name]: texts[name] for name in paths})  # all of them or none
    return paths
