"""layercontract upstream-report FINDING: a Markdown issue draft for the upstream tracker.

From the findings file (the package's backends/findings.toml, or --findings PATH): the title,
the versions (Keras where it holds / last good / first bad, and the frameworks), the standalone
reproducer inlined with the command that runs it, what is expected (each clause the finding
concerns, quoted from spec/clauses.toml: the clauses its reproducer's docstring names and those
of expectations entries that refer to it) against what is observed (the entries' `observed`,
and with --run the reproducer's own output on --backend), the cause, the first bad release or
nightly with the upstream commits between last good and first bad, and the links.

--run runs the reproducer first (as `layercontract repro` does) so the draft shows real output
and the exact versions it ran on; without it nothing is run.

Exit status: 0 written; 2 an unknown finding, an unreadable findings file or no reproducer.
"""

from __future__ import annotations

import importlib.metadata
import os
import pathlib
import re
import sys
import tomllib

from layercontract.spec.harness.commands.options import usable_file, write_file

HELP = "write a Markdown issue draft for a finding (title, versions, reproducer, expected vs observed, links)"
_CLAUSE_ID = re.compile(r"\b[A-Z][A-Z0-9_]*(?:\.[A-Z0-9_]+)+\b")
_CLAUSE_LINE = re.compile(r"^Clauses?:\s+(.*)$", re.MULTILINE)
# the distributions that matter on each backend (the report names those of the finding's backends)
FRAMEWORKS = {
    "keras-tensorflow": ("keras", "tensorflow", "tensorflow-cpu"),
    "keras-jax": ("keras", "jax", "jaxlib"),
    "keras-torch": ("keras", "torch"),
    "keras-numpy": ("keras",),
    "keras-openvino": ("keras", "openvino"),
    "tf-keras": ("tf-keras", "tensorflow", "tensorflow-cpu"),
}


def add_arguments(parser):
    parser.add_argument("finding", metavar="FINDING", help="the finding's id")
    parser.add_argument(
        "--findings", default=None, metavar="PATH", help="findings file (default: the package's backends/findings.toml)"
    )
    parser.add_argument("--out", default=None, metavar="FILE", help="write here (default: standard output)")
    parser.add_argument("--run", action="store_true", help="run the reproducer and include its output and versions")
    parser.add_argument(
        "--backend",
        default=None,
        metavar="NAME[@VERSION]",
        help="with --run: where to run it (default: the finding's first backend)",
    )
    parser.add_argument("--keras-cache", default=None, metavar="DIR", help="cache of Keras overlays (with --run)")


def clauses_of(finding, script_text: str) -> list[str]:
    """The clause ids a finding concerns: its reproducer's "Clause(s):" line, then the clauses of
    expectations entries referring to it (beside the findings file, and the package's)."""
    found = []
    line = _CLAUSE_LINE.search(script_text)
    if line:
        found += _CLAUSE_ID.findall(line.group(1))
    for entry in entries_of(finding):
        if entry.get("clause"):
            found.append(entry["clause"])
    return list(dict.fromkeys(found))


def entries_of(finding) -> list[dict]:
    """Expectations entries (finding = id) in <findings dir>/expectations/*.toml, each with its
    file's stem as `backend`."""
    out = []
    for path in sorted((pathlib.Path(finding.file).parent / "expectations").glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            continue
        for entry in data.get("deviation", []):
            if isinstance(entry, dict) and entry.get("finding") == finding.id:
                out.append({**entry, "backend": path.stem})
    return out


def framework_versions(backends=()) -> dict:
    names = [n for b in backends for n in FRAMEWORKS.get(b, ())] or [n for ns in FRAMEWORKS.values() for n in ns]
    found = {}
    for name in dict.fromkeys([*names, "numpy"]):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    found["python"] = sys.version.split()[0]
    return found


def _build(text):
    from packaging.version import Version

    from layercontract.spec.harness import bisection

    version = Version(text)
    return bisection.Build(version, bisection.NIGHTLY_DIST if version.is_devrelease else bisection.RELEASE_DIST)


def _quote(text: str) -> str:
    return "\n".join("> " + ln if ln else ">" for ln in text.strip().splitlines())


def render(finding, clauses: dict, script: pathlib.Path, ran=None, ran_on: str = "", keras_ran: str = "") -> str:
    from layercontract.spec.harness import bisection, findings

    text = script.read_text(encoding="utf-8")
    kind = finding.kind
    out = [f"# {finding.title or finding.id}", ""]
    backends = finding.backends
    keras_backends = [findings.KERAS_BACKENDS[b] for b in backends if b in findings.KERAS_BACKENDS]
    summary = finding.reason.strip()
    if summary:
        out += [summary, ""]
    out += ["## Versions", ""]
    if finding.when:
        out.append(f"- Holds where: `{'`, `'.join(finding.when)}`")
    last_good, first_bad = finding.last_good, finding.first_bad
    if first_bad:
        out.append(f"- First bad: {_build(first_bad)}" + (f" (last good: {_build(last_good)})" if last_good else ""))
    if keras_backends:
        out.append(f"- Keras backends: {', '.join(keras_backends)}")
    elif backends:
        out.append(f"- Backends: {', '.join(backends)}")
    if ran is not None:
        out.append(
            f"- Reproduced on: {ran_on}"
            + (f" ({keras_ran})" if keras_ran else "")
            + f": exit status {ran.returncode} ({ran.verdict})"
        )
    versions = framework_versions(backends)
    out.append("- Installed here (layercontract's pinned set): " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    command = f"KERAS_BACKEND={keras_backends[0]} python {script.name}" if keras_backends else f"python {script.name}"
    out += [
        "",
        "## Reproducer",
        "",
        f"Plain Keras and numpy; exits 1 while the problem holds, 0 once it is fixed (`{command}`):",
        "",
        "```python",
        text.rstrip(),
        "```",
        "",
    ]
    out += ["## Expected", ""]
    if clauses:
        for cid, clause in clauses.items():
            if clause is None:
                out += [f"- `{cid}` (not in this checkout's spec)"]
                continue
            out += [_quote(f"**{cid}** ({clause.level}): {clause.statement}"), ""]
    else:
        out += ["(no clause named: see the reproducer's docstring)", ""]
    out += ["## Observed", ""]
    if ran is not None:
        out += [f"On {ran_on}:", "", "```", ran.output.rstrip(), "```", ""]
    seen: dict[tuple, list] = {}  # (test, observed) -> backends, in file order
    for entry in entries_of(finding):
        if entry.get("observed"):
            seen.setdefault((entry.get("test"), entry["observed"]), []).append(entry["backend"])
    for (test, observed), where in seen.items():
        out.append(f"- {', '.join(where)}, `{test}`: {observed}")
    if not seen and ran is None:
        out.append("(run the reproducer above; or regenerate this draft with --run)")
    out.append("")
    if finding.cause:
        out += ["## Where", "", finding.cause, ""]
    out += ["## First bad build", ""]
    if first_bad and last_good:
        older, newer = sorted((_build(last_good), _build(first_bad)))
        out += [
            f"Last good {_build(last_good)}, first bad {_build(first_bad)}; the commits between them: "
            f"{bisection.compare_url(older, newer)}",
            "",
        ]
    elif first_bad:
        out += [f"First bad {_build(first_bad)}.", ""]
    else:
        out += [
            f"Not bisected yet (`layercontract bisect --reproducer {finding.id} --good VERSION --bad VERSION`).",
            "",
        ]
    links = finding.upstream
    out += ["## Links", ""]
    out += [f"- {link}" for link in links] or ["- (no upstream issue or pull request describes it)"]
    if finding.status:
        out += [f"- Status: {finding.status}"]
    out += [f"- Found by layercontract (finding `{finding.id}`, kind {kind})", ""]
    return "\n".join(out)


def run(args) -> int:
    from layercontract.spec import clauses as clauses_mod
    from layercontract.spec.harness import findings, overlay

    if args.keras_cache:
        os.environ[overlay.ENV_CACHE] = str(pathlib.Path(args.keras_cache).expanduser().resolve())
    try:
        finding = findings.get(args.finding, args.findings)
    except findings.FindingsError as e:
        print(f"layercontract upstream-report: error: {e}", file=sys.stderr)
        return 2
    script = findings.reproducer_script(finding)
    if not script.is_file():
        print(f"layercontract upstream-report: error: finding {finding.id}: no reproducer {script}", file=sys.stderr)
        return 2
    problem = usable_file(args.out) if args.out else None
    if problem:
        print(f"layercontract upstream-report: error: {problem}", file=sys.stderr)
        return 2
    known = clauses_mod.load()
    wanted = clauses_of(finding, script.read_text(encoding="utf-8"))
    clauses = {cid: known.get(cid) for cid in wanted}
    ran, ran_on, keras_ran = None, "", ""
    if args.run:
        requested = args.backend or findings.default_backend(finding)
        try:
            base, version = overlay.split_name(requested)
            found = overlay.prepare(version) if version else None
        except overlay.OverlayError as e:
            print(f"layercontract upstream-report: error: {e}", file=sys.stderr)
            return 2
        ran = findings.run_reproducer(script, base, found)
        ran_on = requested
        keras_ran = f"{found.distribution} {found.version}" if found else ""
    text = render(finding, clauses, script, ran, ran_on, keras_ran)
    if args.out:
        problem = write_file(args.out, text)
        if problem:
            print(f"layercontract upstream-report: error: {problem}", file=sys.stderr)
            return 2
        print(f"layercontract upstream-report: {finding.id}: written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
