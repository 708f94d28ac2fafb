"""Run records, schema "layercontract-run/4": building, upgrading, validating, reading and
writing them. No pytest import: the pytest plugin part (spec/harness/recorder.py) feeds this module
from its hooks; run-many builds the record of a process that crashed or was killed here
(synthesize); merge and diff read records through load().

The fields are documented in reports/SCHEMA.md and checked by reports/run-record.schema.json.
Version 3 and 2 records (reports/run-record.v3.schema.json, .v2.) are still read: upgrade(), the one
reader of records (load, merge, diff, synthesize), gives them the v4 fields; key_version() tells
any version's key distribution and its version (what reports show as a backend's version).

    record = new_record(backend=..., requested_backend=..., started=...)   # the run's fields
    rows = [test_row(check, clauses, outcome, message, ...), ...]
    finish(record, rows, status=..., stop_reason=..., ...)                 # tests, counts, clauses
    write(path, record)                                                     # atomically
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import json
import os
import pathlib
import platform
import re
import shlex
import signal
import subprocess
import sys
import tomllib
import uuid

from layercontract.reports import schema
from layercontract.reports.schema import unicode_only
from layercontract.spec.harness import check_ids, outcomes
from layercontract.spec.harness.adapter_contract import CONTRACT_VERSION

SCHEMA = schema.RUN_SCHEMA  # "layercontract-run/4"
READABLE = schema.RUN_SCHEMAS  # every run-record version load() accepts
NOT_RUN = outcomes.NOT_RUN
RUNNING_REASON = "the session has not finished: if no pytest process is writing this record, the run was killed"

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
MESSAGE_HEAD, MESSAGE_TAIL = 1000, 3000  # a long message keeps its start and its end (the error)
FIRST_LINE_LIMIT = 300
FALSIFYING = re.compile(r"(Falsifying (explicit )?example|Failing test case)[^:\n]*:")
# what may precede the block on its lines: pytest's "E   ", an exception group's "    | "
TRACEBACK_MARGIN = re.compile(r"(E\s*)?[\s|]*")
REPRODUCE = re.compile(r"@reproduce_failure\([^)]*\)")
# Lines of a traceback that never say what went wrong (frames, separators, markers)...
_TRACEBACK_NOISE = re.compile(
    r"^(_{3,}|_ _ |[\w.]+:\d+: |File \"|Traceback \(most recent call last\)|"
    r"\[XPASS\(strict\)\]|\[\.\.\. \d+ characters cut)"
)
# ...and the ones that do, in a Python traceback: "ValueError: ...", "KeyboardInterrupt".
_HYPOTHESIS_GROUP = re.compile(r"(?:\w+\.)*\w*ExceptionGroup: Hypothesis found (\d+) distinct failures")
_GROUP_MEMBER = re.compile(r"^[\s+|]*\| (\S.*)$")  # a line of an exception group's member traceback
_BARE_EXCEPTION = re.compile(r"[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt):")  # nothing after the name
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b:?")
_UPSTREAM = re.compile(r"^([\w.-]+/[\w.-]+)#(\d+)$")
_URL = re.compile(r"https?://[^\s<>\"']+")
PACKAGE_ROOT = pathlib.Path(__file__).resolve().parents[1]  # layercontract/ of the checkout or of site-packages
# The distributions whose version identifies an implementation whose adapter declares no
# `key_distribution`, in order of preference; after them, the backend's own name.
DEFAULT_KEY_DISTRIBUTIONS = ("keras", "tf-keras", "tf_keras", "reference_impl")


def usage_path(record_path) -> pathlib.Path:
    """OUT/<backend>.json -> OUT/<backend>.usage: where the usage plugin (spec/harness/usage.py)
    writes a backend process's time and memory, read by run, run-many and bench."""
    p = pathlib.Path(record_path)
    return p.with_name(p.name[: -len(".json")] + ".usage" if p.name.endswith(".json") else p.name + ".usage")


# ------------------------------------------------------------------- small parts
def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _git(*args) -> str | None:
    try:  # read-only; --no-optional-locks: never touch the index
        result = subprocess.run(
            ["git", "--no-optional-locks", *args], cwd=PACKAGE_ROOT, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout if result.returncode == 0 else None


# Asked once per process (a forked process inherits the answers: the fault runs' zygote asks
# before forking), as the installed versions below: they describe the code the process loaded.
@functools.cache
def git_commit() -> str:
    return (_git("rev-parse", "HEAD") or "").strip() or "unknown"


@functools.cache
def git_dirty() -> bool | None:
    status = _git("status", "--porcelain", "--untracked-files=no")
    return None if status is None else bool(status.strip())


def distribution_version(name: str) -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def resolve_key_distribution(versions, backend, declared: str | None = None) -> str | None:
    """The distribution whose version identifies the implementation a run checked: the adapter's
    `key_distribution` when it declares one, else the first of DEFAULT_KEY_DISTRIBUTIONS and the
    backend's name that `versions` reports; None when it reports none of them (a failed load)."""
    if declared:
        return declared
    versions = versions or {}
    candidates = (*DEFAULT_KEY_DISTRIBUTIONS, backend)
    return next((d for d in candidates if isinstance(versions.get(d), str) and d != "error"), None)


def key_version(record: dict) -> tuple[str | None, str | None]:
    """(distribution, version) identifying the implementation of a record of any readable version
    (or a merged column): its `key_distribution` (version 4), else the default rule (versions 2
    and 3); (None, None) when the record has no version of it."""
    versions = record.get("versions") or {}
    dist = record.get("key_distribution") or resolve_key_distribution(versions, record.get("backend"))
    version = versions.get(dist) if dist and dist != "error" else None
    return (dist, version) if isinstance(version, str) else (None, None)


def harness_versions() -> dict:
    return dict(_harness_versions())


@functools.cache
def _harness_versions() -> dict:
    return {name: distribution_version(name) for name in ("layercontract", "pytest", "hypothesis", "pytest-xdist")}


def clean_message(text: str) -> str:
    """ANSI stripped; a long text keeps its first and last characters (where the error is)."""
    text = ANSI.sub("", text or "")
    if len(text) > MESSAGE_HEAD + MESSAGE_TAIL:
        cut = len(text) - MESSAGE_HEAD - MESSAGE_TAIL
        text = f"{text[:MESSAGE_HEAD]}\n[... {cut} characters cut ...]\n{text[-MESSAGE_TAIL:]}"
    return text


def first_line(message: str | None, limit: int = FIRST_LINE_LIMIT, *, crash: str | None = None) -> str:
    """The line that says what went wrong: from `crash` (pytest's reprcrash: the exception's own
    message) if given, else from `message`: pytest's first "E" line (an assertion or exception,
    never a source line such as `K = <module ...>`), else the last exception-looking line (a
    Python traceback's), else the first line that is not traceback furniture."""
    for text in (crash, message):
        lines = [ln.rstrip() for ln in ANSI.sub("", text or "").splitlines() if ln.strip()]
        if not lines:
            continue
        e_lines = [ln[1:].strip() for ln in lines if ln.startswith("E ") and ln[1:].strip()]
        if e_lines:
            line, after = e_lines[0], e_lines[1:]
        else:
            exc = [i for i, ln in enumerate(lines) if _EXCEPTION.match(ln.strip())]
            plain = [
                i
                for i, ln in enumerate(lines)
                if not _TRACEBACK_NOISE.match(ln.strip())
                and not re.match(r"^\w+ = ", ln)
                and not ln.startswith((" ", ">"))
            ]
            at = (exc[-1:] or plain[:1] or [0])[0]
            line, after = lines[at].strip(), [ln.strip() for ln in lines[at + 1 :]]
        group = _HYPOTHESIS_GROUP.match(line)
        if group:  # say what the failures were: the first one's exception line, from the traceback
            inner = [
                m.group(1).strip()
                for m in map(_GROUP_MEMBER.match, ANSI.sub("", message or "").splitlines())
                if m and _EXCEPTION.match(m.group(1).strip())
            ]
            if inner:
                line = f"{inner[0]} (the first of {group.group(1)} distinct failures hypothesis found)"
        elif _BARE_EXCEPTION.fullmatch(line) and after:
            # numpy's testing asserts put their text on the next lines ("AssertionError: \nArrays
            # are not equal\n<err_msg>"): the name alone says nothing, so two more lines join it
            line = f"{line} {' · '.join(after[:2])}"
        return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def falsifying_example(*texts: str) -> str | None:
    """Hypothesis's "Falsifying example: ..." / "Failing test case: ..." blocks (and its
    @reproduce_failure lines) from a report's sections and longrepr, or None. In a traceback
    the block sits on pytest's "E   " lines, indented like the failing line, or behind the
    "| " margin of an exception group (hypothesis found several distinct failures)."""
    blocks, blobs = [], []
    for text in texts:
        lines = ANSI.sub("", text or "").splitlines()
        for i, line in enumerate(lines):
            match = FALSIFYING.search(line)
            if not match or not TRACEBACK_MARGIN.fullmatch(line[: match.start()]):
                continue
            prefix = line[: match.start()]
            block = [line[match.start() :].rstrip()]
            for following in lines[i + 1 :]:
                body = following[len(prefix) :] if following.startswith(prefix) else ""
                if not body.strip() or not (body[0].isspace() or body.startswith(")")):
                    break  # a blank line or the next statement ("Explanation:", "You can ...")
                block.append(body.rstrip())
            text_block = "\n".join(block)
            if text_block not in blocks:
                blocks.append(text_block)
        blobs += [b for b in REPRODUCE.findall(ANSI.sub("", text or "")) if b not in blobs]
    if not blocks:
        return None
    return "\n".join(blocks + blobs)


def upstream_url(upstream: str | None) -> str | None:
    """ "owner/repo#123" -> its GitHub issue address (GitHub redirects a pull request's);
    a URL is kept; anything else has none."""
    upstream = (upstream or "").strip()
    match = _UPSTREAM.match(upstream)
    if match:
        return f"https://github.com/{match[1]}/issues/{match[2]}"
    return upstream if _URL.fullmatch(upstream) else None


def deviation_fields(deviation) -> dict | None:
    """The structured `deviation` of a test row, from an expectations.Deviation (or None)."""
    if deviation is None:
        return None
    return {
        "kind": deviation.kind,
        "observed": deviation.observed,
        "reason": deviation.reason,
        "upstream": deviation.upstream or "",
        "upstream_url": upstream_url(deviation.upstream),
        "when": list(deviation.when),
        "file": str(getattr(deviation, "file", "") or ""),
        "entry": int(getattr(deviation, "entry", 0) or 0),
        "test": deviation.test,
        "match": getattr(deviation, "match", "") or "",
        "finding": getattr(deviation, "finding", "") or "",
    }


def rerun_command(check: str, options: str = "") -> str:
    """One command, from any directory, that reruns exactly this check."""
    return (f"python -m pytest --pyargs {shlex.quote(check_ids.pyargs_target(check))} {options}").rstrip()


def record_file_name(requested: str, adapter_name: str | None) -> str:
    """The name a run's record file takes: the backend as requested (keras-jax, keras-jax@3.12.0),
    but for a 'module:Class' spec the adapter's own `name` once it is known."""
    return adapter_name if ":" in requested and adapter_name else requested


def record_file_stem(backend: str) -> str:
    """A backend name or 'module:Class' spec as a file name stem."""
    return "".join(c if c.isalnum() or c in "-_.@+" else "_" for c in str(backend)) or "unnamed"


def rerun_options(backend: str, *, fault=None, expectations=None, profile=None, seed=None) -> str:
    """The options that select what a run checked: backend, fault, expectations file,
    hypothesis profile (unless the default, ci) and seed."""
    opts = ["--backend", backend]
    if fault:
        opts += ["--fault", str(fault)]
    if expectations:  # by absolute path: the command works from any directory
        opts += ["--expectations", str(pathlib.Path(expectations).resolve())]
    if profile and profile != "ci":
        opts += ["--hypothesis-profile", profile]
    if seed is not None:
        opts += ["--hypothesis-seed", str(seed)]
    return " ".join(shlex.quote(o) for o in opts)


# -------------------------------------------------------------------- test rows
def test_row(
    nodeid: str,
    clauses,
    outcome: str,
    message: str = "",
    *,
    duration: float = 0.0,
    reason: str | None = None,
    deviation: dict | None = None,
    example: str | None = None,
    crash: str | None = None,
    rerun: str = "",
) -> dict:
    """One test of a record. `nodeid` is normalised to its check id ("suites/test_x.py::t[p]")."""
    check = check_ids.check_id(nodeid)
    line = first_line(message, crash=crash)  # from the whole message: clean_message shortens long ones
    message = clean_message(message)
    return {
        "nodeid": check,
        "clauses": list(clauses),
        "outcome": outcome,
        "duration_s": round(duration, 4),
        "message": message,
        "first_line": line,
        "reason": reason,
        "deviation": deviation,
        "falsifying_example": example,
        "rerun": rerun_command(check, rerun),
    }


# ---------------------------------------------------------------------- records
def new_record(
    *,
    backend: str,
    requested_backend: str | None = None,
    edition: str = "unknown",
    capabilities=(),
    versions=None,
    key_distribution: str | None = None,
    invocation=(),
    started: dt.datetime | None = None,
    hypothesis: dict | None = None,
    options: dict | None = None,
    git: tuple | None = None,
) -> dict:
    """A record with the run's fields and no tests yet (status "running"); `finish` fills the rest.
    Also the skeleton of a process that stopped before writing its own record. `key_distribution`:
    the adapter's declared one (None: the default rule, resolve_key_distribution)."""
    started = started or now()
    commit, dirty = git if git is not None else (git_commit(), git_dirty())
    return {
        "schema": SCHEMA,
        "status": "running",
        "complete": False,
        "stop_reason": RUNNING_REASON,
        "contract_version": CONTRACT_VERSION,
        "backend": backend,
        "requested_backend": requested_backend or backend,
        "edition": edition,
        "capabilities": sorted(capabilities),
        "versions": {str(k): str(v) for k, v in (versions or {}).items()},
        "key_distribution": resolve_key_distribution(versions, backend, key_distribution),
        "harness": harness_versions(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "git_commit": commit,
        "git_dirty": dirty,
        "hypothesis": hypothesis or {"profile": None, "seed": None, "derandomize": None, "max_examples": None},
        "options": options or {},
        "invocation": [str(a) for a in invocation],
        "started": started.isoformat(),
        "finished": None,
        "duration_s": 0.0,
        "exit_status": None,
        "selected": 0,
        "counts": {},
        "clauses": {},
        "tests": [],
    }


def counts(rows) -> dict:
    found = collections.Counter(t["outcome"] for t in rows)
    return {o: found[o] for o in outcomes.NAMES if found[o]} | {
        o: n for o, n in found.items() if o not in outcomes.BY_NAME
    }


def clause_rows(rows, order=()) -> dict:
    """{clause: {"outcome": the worst of its tests, "tests": how many}}, in `order`, then by id."""
    per_clause: dict[str, list[str]] = {}
    for t in rows:
        for cid in t["clauses"]:
            per_clause.setdefault(cid, []).append(t["outcome"])
    order = {cid: i for i, cid in enumerate(order)}
    return {
        cid: {"outcome": outcomes.worst(per_clause[cid]), "tests": len(per_clause[cid])}
        for cid in sorted(per_clause, key=lambda c: (order.get(c, len(order)), c))
    }


def finish(
    record: dict,
    rows,
    *,
    status: str,
    stop_reason: str | None,
    finished: dt.datetime | None = None,
    exit_status: int | None = None,
    clause_order=(),
) -> dict:
    """`record` with these test rows (sorted by check id) and everything derived from them."""
    rows = sorted(rows, key=lambda t: t["nodeid"])
    started = dt.datetime.fromisoformat(record["started"])
    end = finished or now()
    record.update(
        status=status,
        complete=status == "complete",
        stop_reason=stop_reason,
        finished=finished.isoformat() if finished else None,
        duration_s=round(max(0.0, (end - started).total_seconds()), 3),
        exit_status=exit_status,
        selected=len(rows),
        counts=counts(rows),
        clauses=clause_rows(rows, clause_order),
        tests=rows,
    )
    return record


def validate(record: dict) -> list[str]:
    """Every way `record` breaks the current run-record schema ([] for a valid one)."""
    return schema.errors(record, schema.json_schema(SCHEMA))


# ----------------------------------------------------------------------- reading
def upgrade(record: dict) -> dict:
    """A record of any readable version as the current one (a copy): the one reader of records
    (load, merge, diff and run-many's synthesize read through it). A v2 record gains
    contract_version None and requested_backend = backend; a v2 or v3 record the key_distribution
    of the default rule (resolve_key_distribution); every test row its v3 fields
    (_upgrade_test: a v2 row's deviation is the checkout's expectations entry its reason was
    written from, else its reason's parts)."""
    backend = record["backend"]
    cache: list = []

    def entries():
        if not cache:
            cache.append(_expectations_entries(backend))
        return cache[0]

    out = dict(record)
    if record.get("schema") != SCHEMA:
        out["schema"] = SCHEMA
        out.setdefault("contract_version", None)
        out.setdefault("requested_backend", backend)
        out.setdefault("key_distribution", resolve_key_distribution(record.get("versions"), backend))
    out["tests"] = [_upgrade_test(t, backend, entries) for t in record["tests"]]
    return out


_DESCRIBED = re.compile(
    r"(?s)(?P<kind>[\w-]+)(?: \(when (?P<when>[^)]*)\))?: (?P<observed>.*?) \u2014 "
    r"(?P<reason>.*?)(?: \[(?P<upstream>[^\]\s]+)\])?"
)


def _expectations_entries(backend: str) -> tuple[str, list[dict]]:
    """The checkout's expectations file of a built-in backend (path as shown, raw entries)."""
    path = PACKAGE_ROOT / "backends" / "expectations" / f"{backend}.toml"
    try:
        entries = tomllib.loads(path.read_text(encoding="utf-8")).get("deviation", [])
    except (OSError, ValueError):
        return f"backends/expectations/{backend}.toml", []
    return f"backends/expectations/{backend}.toml", [e for e in entries if isinstance(e, dict)]


def _describe(entry: dict) -> str:
    when = entry.get("when") or []
    when = [when] if isinstance(when, str) else list(when)
    cond = f" (when {'; '.join(when)})" if when else ""
    ref = f" [{entry['upstream']}]" if entry.get("upstream") else ""
    return f"{entry.get('kind')}{cond}: {entry.get('observed')} \u2014 {entry.get('reason')}{ref}"


def deviation_from_reason(reason: str | None, nodeid: str, backend: str, entries=None) -> dict | None:
    """A v3 "deviation" object from a v2 record's flattened reason: the checkout's expectations
    entry it was written from if one matches exactly, else the reason's parts, else the whole
    text as the reason (never lost)."""
    if not reason:
        return None
    text = reason.removeprefix("[XPASS(strict)] ").strip()
    half = len(text) // 2  # pytest repeats a strict xfail's reason: "R R"
    if len(text) % 2 == 1 and text[:half] == text[half + 1 :]:
        text = text[:half]
    file, found = entries if entries is not None else _expectations_entries(backend)
    base = nodeid.split("[", 1)[0]
    for index, entry in enumerate(found, start=1):
        if entry.get("test") in (nodeid, base) and _describe(entry) == text:
            when = entry.get("when") or []
            return {
                "kind": entry["kind"],
                "observed": entry["observed"],
                "reason": entry["reason"],
                "upstream": entry.get("upstream", ""),
                "upstream_url": upstream_url(entry.get("upstream")),
                "when": [when] if isinstance(when, str) else list(when),
                "file": file,
                "entry": index,
                "test": entry["test"],
            }
    match = _DESCRIBED.fullmatch(text)
    parts = match.groupdict() if match else {"kind": "", "observed": "", "reason": text, "upstream": None, "when": None}
    return {
        "kind": parts["kind"],
        "observed": parts["observed"],
        "reason": parts["reason"],
        "upstream": parts["upstream"] or "",
        "upstream_url": upstream_url(parts["upstream"]),
        "when": [w.strip() for w in (parts["when"] or "").split(";") if w.strip()],
        "file": None,
        "entry": None,
        "test": None,
    }


def _upgrade_test(test: dict, backend: str, entries) -> dict:
    """A test row with its v3 fields: a v2 row's "deviation" from its flattened reason, an
    "upstream_url" where a deviation lacks one, "first_line" where it is empty ("" for a pass or a
    test not run)."""
    row = dict(test)
    if "deviation" not in row:
        reason = row.get("reason") if row["outcome"] in ("expected-deviation", "unexpected-pass") else None
        row["deviation"] = deviation_from_reason(reason, test["nodeid"], backend, entries() if reason else None)
    elif row["deviation"] and not row["deviation"].get("upstream_url"):
        row["deviation"] = {**row["deviation"], "upstream_url": upstream_url(row["deviation"].get("upstream"))}
    if not row.get("first_line"):
        row["first_line"] = first_line(row.get("message")) if row["outcome"] not in ("pass", NOT_RUN) else ""
    return row


def load(path) -> dict:
    """A run record of any readable version, validated, as the current version
    (schema.ReportError naming the file if it is not one)."""
    return upgrade(schema.load(path, READABLE))


def load_partial(path) -> dict | None:
    """Whatever record a run left (no validation; None if there is none or it is not JSON)."""
    from layercontract.spec.harness import inputs

    try:
        record = json.loads(inputs.read_text(path, schema.MAX_INPUT_BYTES, "run record"))
    except (OSError, ValueError, RecursionError, inputs.InputError):  # a FIFO in its place never blocks
        return None
    return record if isinstance(record, dict) and isinstance(record.get("tests"), list) else None


# ----------------------------------------------------------------------- writing
def write_atomic(path, text: str) -> pathlib.Path:
    """Write `text` to `path` through a temporary file and a rename: readers (and a kill at any
    moment) see the old file or the new one, never a half-written one. The temporary name is
    unique per process and write, so concurrent writers never share one."""
    path = pathlib.Path(path)
    text = unicode_only(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write(path, record: dict) -> pathlib.Path:
    return write_atomic(path, json.dumps(unicode_only(record), indent=1, allow_nan=False) + "\n")


# ------------------------------------------ the record of a process that did not finish
def _signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def synthesize(
    backend,
    events,
    record,
    *,
    returncode,
    killed="",
    log_tail="",
    stack="",
    collected=None,
    started=None,
    finished=None,
    rerun_options="",
    invocation=(),
    requested_backend=None,
    reason="",
):
    """The run record of a process that did not finish its run normally (run-many).

    Starts from the record the run left (spec/harness/recorder.py writes it as it goes), or a new
    one built from the journal's "backend" event. Tests it finished (in that record or in the
    progress journal `events`, see spec/harness/watchdog.py) keep their outcomes; every other
    collected test gets "timeout" (run-many killed the process), "harness-error" (pytest
    stopped on its own: a backend that cannot load, a bad expectations file) or "crash" (the
    process died: a signal, os._exit). `reason` (e.g. pytest's usage error) ends the stop reason."""
    started = started or now()
    finished = finished or now()
    info, running, to_run, finished_orderly, journal_results = {}, [], {}, False, {}
    for event in events:
        kind = event.get("event")
        if kind == "collected":
            to_run = {check_ids.check_id(t["nodeid"]): t["clauses"] for t in event["tests"]}
        elif kind == "backend":
            info = event
        elif kind == "start":
            running.append(check_ids.check_id(event["nodeid"]))
        elif kind == "result":
            journal_results[check_ids.check_id(event["nodeid"])] = event
        elif kind == "finished":
            finished_orderly = True
    collected_by_run = bool(to_run)
    if record:
        out = upgrade(dict(record)) if record.get("schema") in READABLE else dict(record)
        out.setdefault("contract_version", CONTRACT_VERSION)
        out.setdefault("requested_backend", requested_backend or out.get("backend") or backend)
    else:
        out = new_record(
            backend=info.get("name") or backend,
            requested_backend=requested_backend or backend,
            edition=info.get("edition") or "unknown",
            capabilities=info.get("capabilities") or (),
            versions=info.get("versions"),
            key_distribution=info.get("key_distribution"),
            invocation=invocation,
            started=started,
            git=(git_commit(), None),
        )
        out["started"] = started.isoformat()
    rows = {t["nodeid"]: dict(t) for t in out["tests"]}
    for nodeid, clauses in {**{check_ids.check_id(n): c for n, c in (collected or {}).items()}, **to_run}.items():
        rows.setdefault(nodeid, None)
        to_run.setdefault(nodeid, clauses)

    for nodeid, event in journal_results.items():  # finished after the record's last write
        if rows.get(nodeid) is None or rows[nodeid]["outcome"] == NOT_RUN:
            rows[nodeid] = test_row(
                nodeid,
                event["clauses"],
                event["outcome"],
                event["message"],
                duration=event["duration_s"],
                rerun=rerun_options,
            )
    done = {n for n, r in rows.items() if r is not None and r["outcome"] != NOT_RUN}
    running = [n for n in running if n not in done]

    if killed and "interrupted" in killed:  # Ctrl-C: what did not run is "not run", never a failure
        outcome, how = NOT_RUN, f"was stopped: {killed}"
    elif killed:
        outcome, how = outcomes.TIMEOUT, f"was killed by run-many: {killed}"
    elif returncode is not None and returncode < 0:
        outcome, how = outcomes.CRASH, f"was killed by {_signal_name(returncode)}"
    elif finished_orderly or (returncode in (2, 4) and not collected_by_run):
        outcome, how = outcomes.HARNESS_ERROR, f"stopped with pytest exit status {returncode}"
    else:
        outcome, how = outcomes.CRASH, f"exited with status {returncode} without finishing the run"
    where = (
        f"during {running[0]}"
        if running
        else (
            "after its last finished test" if done else "before its first test (while starting or loading the backend)"
        )
    )
    detail = "\n".join(
        part
        for part in (
            f"stack of the killed process:\n{stack.strip()}" if stack.strip() else "",
            f"last lines of its output:\n{log_tail}" if log_tail else "",
        )
        if part
    )
    for nodeid in rows:
        if nodeid in done:
            continue
        clauses = (rows[nodeid] or {}).get("clauses") or to_run.get(nodeid, [])
        if nodeid in running:
            message = f"{outcome}: the backend process {how}, during this test"
        else:
            message = f"{outcome}: not run: the backend process {how}, {where}"
        rows[nodeid] = test_row(
            nodeid, clauses, outcome, message + ("\n" + detail if detail else ""), rerun=rerun_options
        )
    stop_reason = f"run-many: the backend process {how}, {where}" + (f": {reason}" if reason else "")
    return finish(
        out, rows.values(), status="interrupted", stop_reason=stop_reason, finished=finished, exit_status=returncode
    )
