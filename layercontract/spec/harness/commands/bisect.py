"""layercontract bisect: the first Keras build where a clause's checks changed.

Binary search over the Keras releases and keras-nightly builds on the package index, ordered by
PEP 440 version (3.15.1 < 3.16.0.dev2026101504 < 3.16.0), between --good and --bad, each given
as a release (3.15.1), an exact nightly (3.16.0.dev2026101504), `nightly` (the newest) or a
date (2026-10-15: that day's nightly). Each build tested is one child process on the build's
cached Keras overlay (installed once, see `layercontract run --help` on NAME@VERSION):

  * TARGET (clause ids such as TRAIN.FUNCTIONAL_PINNED_IS_LOCAL, or check ids such as
    suites/test_train_functional.py::test_x[p]): only the checks citing those clauses (or those
    checks) run, on --backend (a Keras 3 backend: keras-numpy, keras-jax, ...). A build's result
    is the *raw* pass/fail of each check, ignoring every expectations file (an expected
    deviation counts as a failure, an unexpected pass as a pass);
  * --reproducer FINDING instead: the finding's standalone reproducer (exit 1 holds, 0 fixed).

A build is good when its results equal those of --good, bad when any differs. A build that
cannot be tested (install fails, Keras does not import, every check a harness error, a
reproducer exits 2) is skipped and the search goes on, as mozregression does. --good may be
newer than --bad (to find where something was fixed). With several changes in the range the
search finds the first one (provided no change is undone within the range); bisect again from
its first bad (as --good) to find the next, or name single check ids.

Prints each step, then `last good`, `first bad` and the upstream commits between them (a GitHub
compare link: by date on master for nightlies, by tag for releases).

--jobs N tests N builds at once (each interval split into N + 1 parts); --confirm tests last
good and first bad again at the end.

Exit status: 0 found; 1 the endpoints give the same results (or one cannot be tested, or
--confirm did not repeat a verdict); 2 bad input (unknown clause or check, a build not on the index, one build as
--good and --bad, a non-Keras-3 backend).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import sys
import tempfile
import time

from layercontract.spec.harness.commands.options import usable_file, write_file

HELP = "find the first Keras release or nightly where a clause's checks (or a reproducer) changed"
EXIT_FOUND, EXIT_NO_CHANGE, EXIT_BAD_INPUT = 0, 1, 2
_CLAUSE = re.compile(r"^[A-Z][A-Z0-9_]*(\.[A-Z0-9_]+)+$")


def add_arguments(parser):
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("targets", nargs="*", metavar="TARGET", help="clause id(s) (their checks run) or check id(s)")
    parser.add_argument(
        "--backend",
        default=None,
        help="Keras 3 backend: keras-numpy, keras-jax, keras-tensorflow, keras-torch, keras-openvino "
        "(default: keras-numpy; with --reproducer, the finding's first backend)",
    )
    parser.add_argument(
        "--good",
        required=True,
        metavar="VERSION",
        help="a build where the checks behave the old way: 3.15.1, 3.16.0.dev2026101504, nightly, 2026-10-15",
    )
    parser.add_argument("--bad", required=True, metavar="VERSION", help="a build where they changed (same forms)")
    parser.add_argument(
        "--reproducer",
        metavar="FINDING",
        default=None,
        help="test with this finding's standalone reproducer instead of suite checks",
    )
    parser.add_argument(
        "--findings",
        metavar="PATH",
        default=None,
        help="findings file for --reproducer (default: the package's backends/findings.toml)",
    )
    parser.add_argument(
        "--keras-cache",
        default=None,
        metavar="DIR",
        help="cache of Keras overlays (default: $LAYERCONTRACT_KERAS_CACHE, else the user cache)",
    )
    parser.add_argument(
        "--workdir",
        default=None,
        metavar="DIR",
        help="where each build's run record is kept (default: a temporary directory)",
    )
    parser.add_argument(
        "--test-timeout", type=float, default=120.0, metavar="SECONDS", help="per-check timeout (default 120)"
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="builds tested at once (default 1): N > 1 tests the endpoints together and splits "
        "each interval into N + 1 parts (fewer rounds, more builds tested)",
    )
    parser.add_argument(
        "--json",
        default=None,
        metavar="FILE",
        help="also write the result as JSON (last_good / first_bad as a finding records them, the link, every step)",
    )
    parser.add_argument(
        "--confirm",
        action="store_true",
        help="once found, test last good and first bad again; exit 1 if either verdict changes",
    )


def _error(text) -> int:
    print(f"layercontract bisect: error: {text}", file=sys.stderr)
    return EXIT_BAD_INPUT


def select(targets: list[str]) -> list[str]:
    """pytest targets for the clause ids and check ids given (selection.SelectionError /
    ValueError for an unknown one)."""
    from layercontract.spec.harness import clause_citations, selection

    cited = clause_citations.cited_clauses()
    selected = []
    for target in targets:
        if _CLAUSE.match(target):
            if target not in cited:
                raise ValueError(f"no check cites clause {target!r} (clause ids as in spec/clauses.toml)")
            for test in cited[target]:
                selected.append(selection.selection_target(f"suites/{test}"))
        else:
            selected.append(selection.selection_target(target))
    return list(dict.fromkeys(selected))


def print_step(step):
    from layercontract.spec.harness.bisection import Step  # noqa: F401 (type)

    left = f", {step.remaining} build(s) left to test" if step.number > 2 else ""
    print(
        f"[{step.number}] {step.build}: {step.verdict.upper()} ({step.observation.seconds:.1f} s){left}"
        f"\n    {step.observation.note}",
        flush=True,
    )


def print_result(result) -> int:
    if not result.found:
        print(f"layercontract bisect: {result.problem}")
        return EXIT_NO_CHANGE
    if result.is_fix:  # good is the newer: the search found where the old behaviour returned
        print(f"\nlast bad:   {result.first_bad}\nfirst good: {result.last_good}")
    else:
        print(f"\nlast good: {result.last_good}\nfirst bad: {result.first_bad}")
    if result.skipped:
        print(f"skipped (could not be tested) between them: {', '.join(b.text for b in result.skipped)}")
    print(f"upstream commits: {result.url}")
    print(f"({len(result.steps)} builds tested)")
    return EXIT_FOUND


def confirm(result, tester, jobs: int = 1) -> int:
    """Test last good and first bad again (at once with --jobs > 1): both verdicts must repeat."""
    from concurrent.futures import ThreadPoolExecutor

    from layercontract.spec.harness import bisection

    reference = next(s.observation.state for s in result.steps if s.build == result.good)
    pairs = ((result.last_good, "good"), (result.first_bad, "bad"))
    with ThreadPoolExecutor(min(2, max(1, jobs))) as pool:
        observations = list(pool.map(tester, [build for build, _ in pairs]))
    problems = []
    for (build, expected), observation in zip(pairs, observations):
        if observation.state is None:
            verdict = "skip"
        else:
            verdict = "bad" if bisection.differs(observation.state, reference) else "good"
        print(f"confirm {build}: {verdict.upper()}\n    {observation.note}", flush=True)
        if verdict != expected:
            problems.append(f"{build} was {expected}, now {verdict}")
    if problems:
        print(
            f"layercontract bisect: NOT confirmed ({'; '.join(problems)}): the checks are not deterministic "
            "on these builds",
            flush=True,
        )
        return EXIT_NO_CHANGE
    print("confirmed: the rerun at last good and first bad gives the same verdicts", flush=True)
    return EXIT_FOUND


def run(args, *, available=None, tester=None) -> int:
    """`available` (the index's builds) and `tester` (build -> Observation) are for tests."""
    from layercontract.spec.harness import bisection, findings, overlay, selection

    started = time.monotonic()
    if args.keras_cache:
        os.environ[overlay.ENV_CACHE] = str(pathlib.Path(args.keras_cache).expanduser().resolve())
    if args.jobs < 1:
        return _error("--jobs must be at least 1")
    problem = usable_file(args.json, "--json") if args.json else None
    if problem:  # before the builds are tested, not after
        return _error(problem)
    if bool(args.targets) == bool(args.reproducer):
        return _error("give either clause or check ids (TARGET...) or --reproducer FINDING")
    backend = args.backend
    if backend and ("@" in backend or backend not in findings.KERAS_BACKENDS):
        return _error(
            f"--backend {backend!r}: bisect runs a Keras 3 backend without a version "
            f"({', '.join(findings.KERAS_BACKENDS)}); the versions come from --good and --bad"
        )
    if args.reproducer:
        try:
            finding = findings.get(args.reproducer, args.findings)
        except findings.FindingsError as e:
            return _error(str(e))
        script = findings.reproducer_script(finding)
        if not script.is_file():
            return _error(f"finding {finding.id}: no reproducer {script}")
        backend = backend or findings.default_backend(finding)
        if backend not in findings.KERAS_BACKENDS:
            return _error(f"finding {finding.id}: its reproducer runs on {backend}, not a Keras 3 backend")
        what = f"reproducer {script.name} on {backend}"
    else:
        backend = backend or "keras-numpy"
        try:
            targets = select(args.targets)
        except (selection.SelectionError, ValueError) as e:
            return _error(str(e))
        what = f"{len(targets)} check function(s)/id(s) for {' '.join(args.targets)} on {backend}"
    try:
        available = available if available is not None else bisection.index_builds()
        good = bisection.resolve(args.good, available)
        bad = bisection.resolve(args.bad, available)
    except bisection.BisectError as e:
        return _error(str(e))
    if good.version == bad.version:
        return _error(f"--good {args.good} and --bad {args.bad} name the same build ({good}): nothing to search")
    low, high = sorted((good.version, bad.version))
    span = [b for b in available if low <= b.version <= high]
    rounds = bisection.expected_steps(len(span), args.jobs)
    print(
        f"layercontract bisect: {what}\n  good {good}, bad {bad}: {len(span)} builds in the range "
        + (f"(about {rounds} to test)" if args.jobs == 1 else f"(about {rounds} rounds of {args.jobs})"),
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="layercontract-bisect-") as tmp:
        if tester is None:
            workdir = pathlib.Path(args.workdir).resolve() if args.workdir else pathlib.Path(tmp)
            tester = (
                bisection.ReproducerTester(script, backend)
                if args.reproducer
                else bisection.SuiteTester(backend, targets, workdir, test_timeout=args.test_timeout)
            )
        result = bisection.bisect(good, bad, available, tester, print_step, jobs=args.jobs)
        status = print_result(result)
        if status == EXIT_FOUND and args.confirm:
            status = confirm(result, tester, args.jobs)
    print(f"layercontract bisect: done in {time.monotonic() - started:.0f} s", flush=True)
    if args.json:
        confirmed = (status == EXIT_FOUND) if args.confirm and result.found else None
        problem = write_json(args.json, result, status, what, backend, round(time.monotonic() - started, 1), confirmed)
        if problem:
            return _error(problem)
    return status


def write_json(path, result, status, what, backend, seconds, confirmed) -> str | None:
    """The bisection as JSON at `path`; None, or why it could not be written."""
    import json

    data = {
        "what": what,
        "backend": backend,
        "good": result.good.text,
        "bad": result.bad.text,
        "found": result.found,
        "confirmed": confirmed,  # None: --confirm was not asked
        "last_good": result.last_good.text if result.found else None,
        "first_bad": result.first_bad.text if result.found else None,
        "skipped": [b.text for b in result.skipped],
        "url": result.url if result.found else None,
        "problem": result.problem or None,
        "exit_status": status,
        "seconds": seconds,
        "steps": [
            {
                "build": s.build.text,
                "distribution": s.build.distribution,
                "verdict": s.verdict,
                "note": s.observation.note,
                "seconds": s.observation.seconds,
                "state": s.observation.state,
            }
            for s in result.steps
        ],
    }
    return write_file(path, json.dumps(data, indent=1) + "\n", "--json")
