"""Bisecting Keras releases and keras-nightly builds (`layercontract bisect`, mozregression-style).

The builds are every `keras` release and every `keras-nightly` dev build on the package index,
ordered by PEP 440 version (a nightly 3.16.0.devYYYYMMDDHH sorts after 3.15.1 and before
3.16.0; a mixed release/nightly range is ordered the same way). An endpoint is given as

    3.15.1                  a release
    3.16.0.dev2026101504    an exact nightly
    nightly                 the newest nightly on the index
    2026-10-15              the nightly built that day (its version's dev number starts YYYYMMDD)

A *test* is a callable build -> Observation: the build's *state* (a mapping from what was
looked at to a verdict: check id -> "pass"/"fail", or "exit" -> "0"/"1" for a reproducer), or
None when the build cannot load (install fails, import error, every check a harness error),
which is then skipped, as mozregression does. A build is *good* when its state equals the
state of the --good endpoint on the keys both have, *bad* otherwise; the endpoints must differ.

The search keeps an interval (last good, first bad) of the version-ordered builds, tests the
middle untested build, and stops when no testable build is left between them; skipped builds
inside the final interval are reported (the change is in one of them or at the first bad).
Good may be newer than bad (bisecting a fix): the same search runs on the reversed order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
from collections.abc import Callable, Iterable

from packaging.version import InvalidVersion, Version

from layercontract.spec.harness import outcomes

RELEASE_DIST, NIGHTLY_DIST = "keras", "keras-nightly"
KERAS_REPO = "https://github.com/keras-team/keras"
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


class BisectError(Exception):
    """Bad input (an endpoint that is not on the index, a malformed version): exit status 2."""


@dataclasses.dataclass(frozen=True, order=True)
class Build:
    version: Version
    distribution: str = dataclasses.field(compare=False)

    @property
    def text(self) -> str:
        return str(self.version)

    @property
    def is_nightly(self) -> bool:
        return self.version.is_devrelease

    @property
    def date(self) -> dt.date | None:
        """The build date of a nightly (3.16.0.dev2026101504 -> 2026-10-15), else None."""
        if not self.is_nightly:
            return None
        digits = str(self.version.dev)
        try:
            return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
        except (ValueError, IndexError):
            return None

    def __str__(self) -> str:
        return f"{self.distribution} {self.version}"


def builds(releases: Iterable[str], nightlies: Iterable[str]) -> list[Build]:
    """Every Keras 3 release (final versions only) and nightly, oldest first."""
    found: dict[Version, Build] = {}
    for distribution, versions in ((RELEASE_DIST, releases), (NIGHTLY_DIST, nightlies)):
        for text in versions:
            try:
                version = Version(text)
            except InvalidVersion:
                continue
            if version.major < 3 or version.local or version.epoch:
                continue
            if distribution == RELEASE_DIST and version.is_prerelease:
                continue  # release candidates are not what users install; nightlies cover them
            if distribution == NIGHTLY_DIST and not version.is_devrelease:
                continue
            found.setdefault(version, Build(version, distribution))
    return sorted(found.values())


def resolve(text: str, available: list[Build]) -> Build:
    """The build an endpoint names (see the module docstring); BisectError if none."""
    text = text.strip()
    nightlies = [b for b in available if b.is_nightly]
    if text.lower() == "nightly":
        if not nightlies:
            raise BisectError("no keras-nightly build on the package index")
        return max(nightlies)
    date = _DATE.match(text)
    if date:
        try:
            day = dt.date(*map(int, date.groups()))
        except ValueError:
            raise BisectError(f"{text!r} is not a date (YYYY-MM-DD)") from None
        that_day = [b for b in nightlies if b.date == day]
        if not that_day:
            near = sorted(nightlies, key=lambda b: abs(((b.date or day) - day).days))[:3]
            raise BisectError(
                f"no keras-nightly build dated {day} on the index"
                + (f" (nearest: {', '.join(b.text for b in sorted(near))})" if near else "")
            )
        return min(that_day)  # the first build of that day
    try:
        version = Version(text)
    except InvalidVersion:
        raise BisectError(
            f"{text!r} is not a Keras version (3.15.1, 3.16.0.dev2026101504), 'nightly' or a date (2026-10-15)"
        ) from None
    for build in available:
        if build.version == version:
            return build
    kind = "keras-nightly build" if version.is_devrelease else "keras release"
    raise BisectError(f"{text!r}: no such {kind} on the package index")


def compare_url(older: Build, newer: Build) -> str:
    """The upstream commits between two builds: nightlies by date on master, releases by tag."""

    def ref(build: Build) -> str:
        return f"master@{{{build.date.isoformat()}}}" if build.date else f"v{build.text}"

    return f"{KERAS_REPO}/compare/{ref(older)}...{ref(newer)}"


@dataclasses.dataclass
class Observation:
    state: dict | None  # what was looked at -> verdict; None: the build cannot be tested
    note: str = ""  # one line: what failed, or why the build was skipped
    seconds: float = 0.0


@dataclasses.dataclass
class Step:
    number: int
    build: Build
    verdict: str  # "good" | "bad" | "skip"
    observation: Observation
    remaining: int  # untested builds strictly between last good and first bad after it


@dataclasses.dataclass
class Result:
    good: Build  # the endpoint given as --good
    bad: Build  # the endpoint given as --bad
    last_good: Build | None = None
    first_bad: Build | None = None
    skipped: list = dataclasses.field(default_factory=list)  # skipped builds between the two
    steps: list = dataclasses.field(default_factory=list)
    problem: str = ""  # why there is no result (endpoints equal, an endpoint untestable)

    @property
    def found(self) -> bool:
        return self.last_good is not None and self.first_bad is not None

    @property
    def is_fix(self) -> bool:
        """Good newer than bad: the search found where a change was undone (or where it came from)."""
        return self.good.version > self.bad.version

    @property
    def url(self) -> str:
        assert self.last_good is not None and self.first_bad is not None, "no change was found"
        older, newer = sorted((self.last_good, self.first_bad))
        return compare_url(older, newer)


def differs(state: dict, reference: dict) -> list[str]:
    """The keys whose verdict differs between two states (only keys both have)."""
    return sorted(k for k in state.keys() & reference.keys() if state[k] != reference[k])


def bisect(
    good: Build,
    bad: Build,
    available: list[Build],
    test: Callable[[Build], Observation],
    report: Callable[[Step], None] = lambda step: None,
    jobs: int = 1,
) -> Result:
    """Search for the adjacent (last good, first bad) pair between the endpoints. With jobs > 1
    each round tests that many builds at once, splitting the interval into jobs + 1 parts (the
    endpoints are tested together too): fewer rounds, for more builds tested in all."""
    result = Result(good, bad)
    if good.version == bad.version:
        result.problem = "--good and --bad name the same build"
        return result
    lo_v, hi_v = sorted((good.version, bad.version))
    span = [b for b in available if lo_v <= b.version <= hi_v]
    if good.version > bad.version:
        span.reverse()  # good first: search toward bad
    jobs = max(1, int(jobs))
    counter = [0]

    def timed(build):
        started = time.monotonic()
        observation = test(build)
        observation.seconds = observation.seconds or round(time.monotonic() - started, 2)
        return observation

    def test_all(builds):
        if jobs == 1 or len(builds) == 1:
            return [timed(b) for b in builds]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(jobs, len(builds))) as pool:  # each test is a child process
            return list(pool.map(timed, builds))

    def record(build, verdict, observation, remaining):
        counter[0] += 1
        step = Step(counter[0], build, verdict, observation, remaining)
        result.steps.append(step)
        report(step)

    inner = len(span) - 2
    if jobs == 1:
        reference = timed(good)
        record(good, "good" if reference.state is not None else "skip", reference, inner)
        end = timed(bad) if reference.state is not None else None
    else:
        reference, end = test_all([good, bad])
        record(good, "good" if reference.state is not None else "skip", reference, inner)
    assert reference is not None
    if reference.state is None:
        result.problem = f"the good endpoint {good} cannot be tested: {reference.note}"
        return result
    assert end is not None  # tested whenever the good endpoint could be
    verdict = "skip" if end.state is None else ("bad" if differs(end.state, reference.state) else "good")
    record(bad, verdict, end, inner)
    if verdict == "skip":
        result.problem = f"the bad endpoint {bad} cannot be tested: {end.note}"
        return result
    if verdict == "good":
        result.problem = (
            f"no difference: {bad} gives the same results as {good} on what was run ({len(reference.state)} verdict(s))"
        )
        return result

    lo, hi = 0, len(span) - 1  # span[lo] good, span[hi] bad
    skipped: set[int] = set()
    while True:
        candidates = [i for i in range(lo + 1, hi) if i not in skipped]
        if not candidates:
            break
        picks = []
        for k in range(1, jobs + 1):  # the points splitting (lo, hi) into jobs + 1 parts
            target = lo + (hi - lo) * k / (jobs + 1)
            free = [c for c in candidates if c not in picks]
            if not free:
                break
            picks.append(min(free, key=lambda c: (abs(c - target), c)))
        picks.sort()
        observations = test_all([span[i] for i in picks])
        verdicts = {}
        for i, observation in zip(picks, observations):
            if observation.state is None:
                skipped.add(i)
                verdicts[i] = "skip"
            else:
                verdicts[i] = "bad" if differs(observation.state, reference.state) else "good"
        bads = [i for i in picks if verdicts[i] == "bad"]
        hi = min(bads) if bads else hi
        lo = max([i for i in picks if verdicts[i] == "good" and i < hi], default=lo)
        left = len([k for k in range(lo + 1, hi) if k not in skipped])
        for i, observation in zip(picks, observations):
            record(span[i], verdicts[i], observation, left)
    result.last_good, result.first_bad = span[lo], span[hi]
    result.skipped = [span[k] for k in sorted(skipped) if lo < k < hi]
    return result


def expected_steps(n: int, jobs: int = 1) -> int:
    """Rounds of tests for a range of n builds without skips: the endpoints (one round with
    jobs > 1, else two), then log base jobs + 1 of the builds between them."""
    import math

    inner = max(0, n - 2)
    rounds = 0
    while inner > 0:
        inner = math.floor(inner / (jobs + 1))  # the untested builds left in one of the parts
        rounds += 1
    return (1 if jobs > 1 else 2) + rounds


# ------------------------------------------------------------------ the index
def index_versions(distribution: str) -> list[str]:
    """Every version of a distribution on the configured package index (pip index versions --pre)."""
    import subprocess

    from layercontract.spec.harness import overlay

    try:
        proc = overlay._pip(
            "index",
            "versions",
            distribution,
            "--pre",
            "--timeout",
            "10",
            "--retries",
            "1",
            timeout=overlay.INDEX_TIMEOUT_S * 3,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BisectError(f"could not ask the package index for {distribution}: {e}") from None
    found = re.search(r"^Available versions: (.*)$", proc.stdout, re.MULTILINE)
    if proc.returncode != 0 or not found:
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise BisectError(f"could not list {distribution} on the package index: {detail}")
    return [v.strip() for v in found.group(1).split(",") if v.strip()]


def index_builds() -> list[Build]:
    return builds(index_versions(RELEASE_DIST), index_versions(NIGHTLY_DIST))


# ---------------------------------------------------------------- the testers
# Raw pass/fail of a check, ignoring any expectations file: an expected deviation is a failure,
# an unexpected pass a pass. Other outcomes (harness error, crash, timeout, not run, unsupported,
# not applicable) give no verdict; a build where no selected check has one cannot be tested.
RAW = {outcomes.PASS: "pass", outcomes.UNEXPECTED_PASS: "pass", outcomes.FAIL: "fail", outcomes.DEVIATION: "fail"}


def observe_record(record: dict | None, why: str = "") -> Observation:
    """A build's state from its run record: check id -> raw pass/fail."""
    if record is None:
        return Observation(None, why or "the run left no record")
    tests = record.get("tests") or []
    state = {t["nodeid"]: RAW[t["outcome"]] for t in tests if t.get("outcome") in RAW}
    if not state:
        first = next(
            (
                t.get("first_line") or t.get("message", "")[:200]
                for t in tests
                if t.get("outcome") not in ("pass", "unsupported", "not-applicable")
            ),
            "",
        )
        return Observation(None, f"no check gave a verdict: {first or record.get('stop_reason') or why}")
    failing = sorted(k for k, v in state.items() if v == "fail")
    note = f"{len(state) - len(failing)} pass, {len(failing)} fail"
    if failing:
        line = next((t.get("first_line", "") for t in tests if t["nodeid"] == failing[0]), "")
        note += f" (first: {failing[0]}: {line[:160]})"
    return Observation(state, note)


class SuiteTester:
    """Runs the selected checks on `base@<build>` (a Keras 3 backend name) in one pytest process
    per build, on a cached overlay, with an empty expectations file; judges by its record."""

    def __init__(self, base: str, targets: list[str], workdir, *, test_timeout: float = 120, timeout: float = 900):
        import pathlib

        self.base, self.targets, self.workdir = base, list(targets), pathlib.Path(workdir)
        self.test_timeout, self.timeout = test_timeout, timeout
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.empty = self.workdir / "no-expectations.toml"
        self.empty.write_text("# bisect judges raw pass/fail: no expectations\n", encoding="utf-8")

    def command(self, build: Build, record) -> list[str]:
        import sys

        from layercontract.spec.harness import check_ids

        return [
            sys.executable,
            "-m",
            "pytest",
            *self.targets,
            *check_ids.pytest_location_args(),
            f"--backend={self.base}@{build.text}",
            f"--record={record}",
            f"--expectations={self.empty}",
            f"--test-timeout={self.test_timeout:g}",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
        ]

    def __call__(self, build: Build) -> Observation:
        import subprocess

        from layercontract.reports import records
        from layercontract.spec.harness import overlay, processes
        from layercontract.spec.harness.backend_runs import child_env

        try:
            found = overlay.prepare(build.text)
        except overlay.OverlayError as e:
            return Observation(None, f"cannot install: {e}")
        record = self.workdir / f"{build.text}.json"
        record.unlink(missing_ok=True)
        env = overlay.child_environment(found, child_env())
        try:
            proc = processes.run(self.command(build, record), timeout=self.timeout, env=env)
        except subprocess.TimeoutExpired:
            return observe_record(records.load_partial(record), f"ran past {self.timeout:g} s")
        last = [ln for ln in (proc.stdout + proc.stderr).strip().splitlines() if ln.strip()][-1:] or [""]
        observation = observe_record(records.load_partial(record), f"pytest exit status {proc.returncode}: {last[0]}")
        observation.note += f" [Keras ready in {found.seconds:.1f} s]"
        return observation


class ReproducerTester:
    """Runs a finding's reproducer under each build: exit 1 (holds) and 0 (fixed) are verdicts,
    anything else (2: cannot run) skips the build."""

    def __init__(self, script, backend: str, timeout: float = 600):
        self.script, self.backend, self.timeout = script, backend, timeout

    def __call__(self, build: Build) -> Observation:
        from layercontract.spec.harness import findings, overlay

        try:
            found = overlay.prepare(build.text)
        except overlay.OverlayError as e:
            return Observation(None, f"cannot install: {e}")
        result = findings.run_reproducer(self.script, self.backend, found, timeout=self.timeout)
        last = [ln for ln in result.output.strip().splitlines() if ln.strip()][-1:] or [""]
        ready = f" [Keras ready in {found.seconds:.1f} s]"
        if result.returncode not in (findings.HOLDS, findings.FIXED):
            return Observation(None, f"reproducer {result.verdict}: {last[0][:200]}{ready}")
        return Observation({"reproducer": result.verdict}, f"reproducer: {result.verdict}{ready}")
