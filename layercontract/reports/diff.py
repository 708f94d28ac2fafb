"""Comparing two runs (run records or matrix.json files): regressions, fixes, clauses added and
removed, per backend, as Markdown.

Conformance of a test, best first: pass (an unexpected pass also passes) > expected deviation
> failing (fail, harness error, crash, timeout). A *regression* is a test whose conformance
got worse between OLD and NEW (pass -> deviation counts: the backend stopped conforming, even
if an expectations entry now explains it), or that became unexpected at the same conformance
(pass -> unexpected pass: a stale expectations entry); a *fix* is the reverse. Not run,
unsupported and not applicable are no conformance level: changes to or from them are listed
as "other changes", never as a regression or a fix.
"""

from __future__ import annotations

import dataclasses

from layercontract.reports import records, schema
from layercontract.reports.render import first_line, label, md_code, md_text
from layercontract.spec.harness.outcomes import OUTCOMES, UNEXPECTED

RANK = {o.name: o.conformance for o in OUTCOMES if o.conformance is not None}  # 0 best


def classify_change(was: str, now: str) -> str:
    """ "regression", "fix" or "other" for a test whose outcome changed from `was` to `now`.

    Conformance decides first; at equal conformance, becoming unexpected (pass -> unexpected
    pass: an expectations entry that does not hold) is a regression and the reverse a fix."""
    if was in RANK and now in RANK:
        if RANK[now] != RANK[was]:
            return "regression" if RANK[now] > RANK[was] else "fix"
        if (now in UNEXPECTED) != (was in UNEXPECTED):
            return "regression" if now in UNEXPECTED else "fix"
    return "other"


@dataclasses.dataclass
class Run:
    """One backend's results in one input: test outcomes and clause outcomes."""

    versions: dict
    complete: bool
    tests: dict[str, dict]  # nodeid -> {"outcome", "clauses", "message", "reason", "rerun"}
    clauses: dict[str, str]  # clause id -> outcome


def load_runs(path) -> dict[str, Run]:
    """backend -> Run, from a run record or a matrix.json (ReportError naming the file)."""
    data = schema.load(path, (*schema.RUN_SCHEMAS, schema.MATRIX_SCHEMA))
    if data["schema"] in schema.RUN_SCHEMAS:
        data = records.upgrade(data)
        tests = {t["nodeid"]: t for t in data["tests"]}
        clauses = {cid: row["outcome"] for cid, row in data["clauses"].items()}
        return {data["backend"]: Run(data["versions"], data["complete"], tests, clauses)}
    runs = {}
    for name, entry in data["backends"].items():
        clauses = {cid: c["results"][name]["outcome"] for cid, c in data["clauses"].items() if name in c["results"]}
        runs[name] = Run(entry["versions"], entry["complete"], entry["tests"], clauses)
    return runs


def gate_problems(
    old: dict[str, Run], new: dict[str, Run], names=("OLD", "NEW"), *, allow_incomplete=False, allow_disjoint=False
) -> list[str]:
    """Why OLD and NEW cannot be judged (a gate must not read "no regression" from them): a run
    that did not complete, no backend in common. [] when they can."""
    problems = []
    if not allow_disjoint and old and new and not set(old) & set(new):
        problems.append(
            f"{names[0]} ({_list(old)}) and {names[1]} ({_list(new)}) have no backend in "
            "common: nothing to compare (--allow-disjoint to compare anyway)"
        )
    if not allow_incomplete:
        for name, runs in zip(names, (old, new)):
            unfinished = [b for b, run in runs.items() if not run.complete]
            if unfinished:
                problems.append(
                    f"{name}: the run of {_list(unfinished)} did not complete (killed, interrupted "
                    "or still running): its outcomes prove nothing (--allow-incomplete to compare anyway)"
                )
    return problems


def _list(names, limit=3) -> str:
    names = [n if len(n) <= 60 else n[:60] + "..." for n in names]
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


@dataclasses.dataclass
class Change:
    backend: str
    nodeid: str
    old: str
    new: str
    test: dict


@dataclasses.dataclass
class Diff:
    regressions: list[Change] = dataclasses.field(default_factory=list)
    fixes: list[Change] = dataclasses.field(default_factory=list)
    other: list[Change] = dataclasses.field(default_factory=list)
    clauses_added: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    clauses_removed: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    clause_changes: dict[str, list[tuple[str, str, str]]] = dataclasses.field(default_factory=dict)
    tests_added: dict[str, int] = dataclasses.field(default_factory=dict)
    tests_removed: dict[str, int] = dataclasses.field(default_factory=dict)
    backends_added: list[str] = dataclasses.field(default_factory=list)
    backends_removed: list[str] = dataclasses.field(default_factory=list)
    version_changes: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    incomplete: list[str] = dataclasses.field(default_factory=list)


def compare(old: dict[str, Run], new: dict[str, Run]) -> Diff:
    diff = Diff(backends_added=[b for b in new if b not in old], backends_removed=[b for b in old if b not in new])
    for backend in [b for b in new if b in old]:
        a, b = old[backend], new[backend]
        for side, run in (("OLD", a), ("NEW", b)):
            if not run.complete:
                diff.incomplete.append(f"{side} {backend}")
        changed = sorted(k for k in set(a.versions) | set(b.versions) if a.versions.get(k) != b.versions.get(k))
        if changed:
            diff.version_changes[backend] = [
                f"{k} {a.versions.get(k, '-')} → {b.versions.get(k, '-')}" for k in changed
            ]
        for nodeid in sorted(set(a.tests) & set(b.tests)):
            was, now = a.tests[nodeid]["outcome"], b.tests[nodeid]["outcome"]
            if was == now:
                continue
            change = Change(backend, nodeid, was, now, b.tests[nodeid])
            kind = classify_change(was, now)
            {"regression": diff.regressions, "fix": diff.fixes}.get(kind, diff.other).append(change)
        if set(b.tests) - set(a.tests):
            diff.tests_added[backend] = len(set(b.tests) - set(a.tests))
        if set(a.tests) - set(b.tests):
            diff.tests_removed[backend] = len(set(a.tests) - set(b.tests))
        added, removed = sorted(set(b.clauses) - set(a.clauses)), sorted(set(a.clauses) - set(b.clauses))
        if added:
            diff.clauses_added[backend] = added
        if removed:
            diff.clauses_removed[backend] = removed
        moved = [
            (cid, a.clauses[cid], b.clauses[cid])
            for cid in a.clauses
            if cid in b.clauses and a.clauses[cid] != b.clauses[cid]
        ]
        if moved:
            diff.clause_changes[backend] = moved
    return diff


def markdown(diff: Diff, old_name: str, new_name: str) -> str:
    out = [f"## layercontract diff: {md_text(old_name)} → {md_text(new_name)}", ""]
    verdict = (
        f"**{len(diff.regressions)} regression{'s' * (len(diff.regressions) != 1)}**;"
        if diff.regressions
        else "**No regression**;"
    )
    out += [
        f"{verdict} {len(diff.fixes)} fix{'es' * (len(diff.fixes) != 1)}, {len(diff.other)} other change"
        f"{'s' * (len(diff.other) != 1)}.",
        "",
    ]
    for run in diff.incomplete:
        out.append(f"> ⚠️ {run}: the run is incomplete, some tests did not run")
    for name in diff.backends_added:
        out.append(f"- backend added: **{md_text(name)}**")
    for name in diff.backends_removed:
        out.append(f"- backend removed: **{md_text(name)}**")
    for backend, changes in diff.version_changes.items():
        out.append(f"- **{md_text(backend)}** versions: {md_text(', '.join(changes), 400)}")
    if diff.incomplete or diff.backends_added or diff.backends_removed or diff.version_changes:
        out.append("")

    def section(title, items):
        if not items:
            return
        out.extend([f"### {title} ({len(items)})", ""])
        for backend in dict.fromkeys(c.backend for c in items):
            out.append(f"**{md_text(backend)}**")
            out.append("")
            for c in (c for c in items if c.backend == backend):
                line = (
                    f"- {md_code(c.nodeid)} ({', '.join(c.test.get('clauses', []))}): "
                    f"{label(c.old)} → **{label(c.new)}**"
                )
                detail = (
                    c.test.get("reason") if c.new == "expected-deviation" else first_line(c.test.get("message", ""))
                )
                if detail and c.new not in ("pass", "not-run"):
                    line += f" — {md_text(detail)}"
                out.append(line)
            out.append("")

    section("Regressions", diff.regressions)
    section("Fixes", diff.fixes)
    section("Other changes", diff.other)
    clause_lines = []
    for backend in dict.fromkeys([*diff.clauses_added, *diff.clauses_removed, *diff.clause_changes]):
        parts = []
        for cid, a, b in diff.clause_changes.get(backend, []):  # one line per changed clause
            clause_lines.append(f"- **{md_text(backend)}** `{cid}`: {a} → {b}")
        if backend in diff.clauses_added:
            parts.append("added " + ", ".join(f"`{cid}`" for cid in diff.clauses_added[backend]))
        if backend in diff.clauses_removed:
            parts.append("removed " + ", ".join(f"`{cid}`" for cid in diff.clauses_removed[backend]))
        if parts:
            clause_lines.append(f"- **{md_text(backend)}**: " + "; ".join(parts))
    if clause_lines:
        out += ["### Clauses", ""] + clause_lines + [""]
    counts = [
        f"{b}: +{diff.tests_added.get(b, 0)} / -{diff.tests_removed.get(b, 0)}"
        for b in dict.fromkeys([*diff.tests_added, *diff.tests_removed])
    ]
    if counts:
        out += ["Tests added / removed: " + md_text("; ".join(counts), 500), ""]
    return "\n".join(out)


# ------------------------------------------------------------- across Keras versions
def key_version(record: dict):
    """The record's key version (records.key_version: its Keras version for a Keras backend) as a
    packaging Version (None if it records none or not PEP 440)."""
    from packaging.version import InvalidVersion, Version

    text = records.key_version(record)[1]
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None


def consecutive_changes(records) -> list[tuple[str, str, str, list[tuple[str, str, str]]]]:
    """[(backend, old version, new version, [(clause, old outcome, new outcome)])] for every
    backend with records at more than one version, versions in ascending order (records
    without a key version keep the given order)."""
    groups: dict[str, list[dict]] = {}
    for record in records:
        if record:
            groups.setdefault(record.get("backend", "?"), []).append(record)
    found = []
    for backend, group in groups.items():
        if len(group) < 2:
            continue
        if all(key_version(r) is not None for r in group):
            group = sorted(group, key=key_version)
        for old, new in zip(group, group[1:]):
            a = {cid: row["outcome"] for cid, row in old.get("clauses", {}).items() if row.get("tests")}
            b = {cid: row["outcome"] for cid, row in new.get("clauses", {}).items() if row.get("tests")}
            moved = [(cid, a[cid], b[cid]) for cid in sorted(set(a) & set(b)) if a[cid] != b[cid]]
            moved += [(cid, a[cid], "absent") for cid in sorted(set(a) - set(b))]
            moved += [(cid, "absent", b[cid]) for cid in sorted(set(b) - set(a))]
            found.append((backend, _version_label(old), _version_label(new), moved))
    return found


def _version_label(record) -> str:
    return records.key_version(record)[1] or record.get("requested_backend") or "?"


def history_lines(records) -> list[str]:
    """Plain text: the clauses whose outcome changed between consecutive Keras versions."""
    changes = consecutive_changes(records)
    if not changes:
        return []
    out = ["", "changes between consecutive Keras versions (clause: old outcome -> new outcome):"]
    for backend, old, new, moved in changes:
        out.append(f"  {backend} {old} -> {new}: " + ("no clause changed" if not moved else ""))
        out += [f"    {cid}: {a} -> {b}" for cid, a, b in moved]
    return out
