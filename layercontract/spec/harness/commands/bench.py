"""layercontract bench BACKEND... | all: where each backend's time and memory go, beside a
committed baseline (benchmarks/baseline.json, with the machine it was measured on).

It runs the backends with run-many (each in its own process, --jobs at a time) into --out, or,
with --from-records, reads the records a run-many already left (CI: the records of its
run-many, so the benchmark costs no extra run). Per backend it prints wall time, CPU time (user +
system, the primary figure on a shared machine), peak RSS, the ratio of CPU and wall to the
reference backend of the same run (noise that hits every backend cancels), where the time goes
(process start-up, of which the backend's load/framework import; the tests; jax's compile
events and persistent-cache hits when jax was loaded) and the slowest test modules. The
figures come from the record (per-test durations) and the `.usage` file each run-many backend
process writes beside it (spec/harness/usage.py); a record without one shows only its wall
time and module times.

--json PATH writes the same as JSON (schema layercontract-bench/1); --save-baseline PATH writes
the result as a baseline. The benchmark never gates: exit status 0 when it could measure, 2 when
it could not (no record, bad arguments); the run's outcomes are run-many's business.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pathlib
import platform
import sys

from layercontract.reports.records import usage_path
from layercontract.spec.harness.commands.options import usable_file, write_file

HELP = "benchmark backends (wall, CPU, peak RSS, where the time goes) against the committed baseline"
SCHEMA = "layercontract-bench/1"
EXIT_OK, EXIT_HARNESS = 0, 2
REFERENCE = "reference"
TOP_MODULES = 4


def checkout_root() -> pathlib.Path | None:
    here = pathlib.Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "benchmarks").is_dir():
            return parent
    return None


def default_baseline() -> pathlib.Path | None:
    root = checkout_root()
    return root / "benchmarks" / "baseline.json" if root else None


def add_arguments(parser):
    parser.add_argument(
        "backends",
        nargs="*",
        metavar="BACKEND",
        help="backends to run (run-many names, or 'all'); not with --from-records",
    )
    parser.add_argument(
        "--from-records",
        nargs="+",
        default=None,
        metavar="RECORD",
        help="read these run records (and their .usage files) instead of running",
    )
    parser.add_argument("--out", default=None, help="run-many's output directory (default: a new temporary directory)")
    parser.add_argument(
        "-j", "--jobs", type=int, default=None, help="backends run at once (default: run-many's, os.cpu_count())"
    )
    parser.add_argument(
        "-s",
        "--select",
        action="append",
        default=[],
        metavar="PATH",
        help="suite file or node id to run instead of all of suites/ (repeatable; as run-many)",
    )
    parser.add_argument(
        "--baseline",
        default=None,
        metavar="PATH",
        help="baseline to compare with (default: the checkout's benchmarks/baseline.json)",
    )
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the result as JSON")
    parser.add_argument(
        "--save-baseline",
        default=None,
        metavar="PATH",
        help="write the result as a baseline file (with this machine's description)",
    )


# ------------------------------------------------------------------ measuring
def machine() -> dict:
    model = None
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "cores": os.cpu_count(),
        "cpu": model or platform.processor() or None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": load,
    }


def module_times(record) -> dict[str, float]:
    times: dict[str, float] = {}
    for t in record.get("tests", []):
        module = t["nodeid"].split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")
        times[module] = times.get(module, 0.0) + float(t.get("duration_s") or 0.0)
    return {m: round(s, 3) for m, s in sorted(times.items(), key=lambda kv: -kv[1])}


def compile_summary(events: dict) -> dict | None:
    """jax's compile events: the backend compiles, their seconds, tracing + lowering seconds, and the
    persistent cache's hits and misses (see jax/_src/dispatch.py, compiler.py)."""
    if not events:
        return None

    def get(name, key):
        return events.get(name, {}).get(key, 0)

    backend = "/jax/core/compile/backend_compile_duration"
    return {
        "compiles": get(backend, "count"),
        "compile_s": round(get(backend, "seconds"), 3),
        "trace_lower_s": round(
            get("/jax/core/compile/jaxpr_trace_duration", "seconds")
            + get("/jax/core/compile/jaxpr_to_mlir_module_duration", "seconds"),
            3,
        ),
        "cache_hits": get("/jax/compilation_cache/cache_hits", "count"),
        "cache_misses": get("/jax/compilation_cache/cache_misses", "count"),
        "cache_saved_s": round(get("/jax/compilation_cache/compile_time_saved_sec", "seconds"), 3),
    }


def measure(record_path) -> dict:
    from layercontract.reports import records

    record = records.load_partial(record_path)
    if record is None:
        raise FileNotFoundError("not a run record, skipped")
    usage = None
    try:
        usage = json.loads(usage_path(record_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    name = record.get("requested_backend") or record.get("backend")
    version_of, version = records.key_version(record)  # what identifies the implementation
    row = {
        "backend": name,
        "record": str(record_path),
        "complete": record.get("complete"),
        "tests": len(record.get("tests", [])),
        "session_s": round(float(record.get("duration_s") or 0.0), 3),
        "wall_s": None,
        "cpu_s": None,
        "cpu_user_s": None,
        "cpu_sys_s": None,
        "peak_rss_mib": None,
        "phases": None,
        "compile": None,
        "modules": module_times(record),
        "versions": record.get("versions", {}),
        "version_of": version_of,
        "version": version,
        "python": record.get("python"),
    }
    if usage:
        row.update(
            wall_s=usage["wall_s"],
            cpu_user_s=usage["cpu_user_s"],
            cpu_sys_s=usage["cpu_sys_s"],
            cpu_s=round(usage["cpu_user_s"] + usage["cpu_sys_s"], 3),
            peak_rss_mib=round(usage["peak_rss_kib"] / 1024, 1),
            phases=usage.get("phases"),
            compile=compile_summary(usage.get("compile") or {}),
        )
    else:
        row["wall_s"] = row["session_s"]
    return row


def with_ratios(rows) -> list[dict]:
    ref = next((r for r in rows if r["backend"] == REFERENCE), None)
    for r in rows:
        for key in ("cpu_s", "wall_s"):
            base = ref and ref.get(key)
            r[f"{key[:-2]}_x_ref"] = round(r[key] / base, 2) if base and r.get(key) is not None else None
    return rows


def compare(rows, baseline) -> None:
    by_name = (baseline or {}).get("backends", {})
    for r in rows:
        b = by_name.get(r["backend"])
        r["baseline"] = None if b is None else {k: b.get(k) for k in ("wall_s", "cpu_s", "peak_rss_mib", "tests")}


# ------------------------------------------------------------------ printing
def _num(value, fmt="{:.1f}"):
    return "-" if value is None else fmt.format(value)


def _delta(now, before):
    if now is None or not before:
        return "-"
    return f"{(now - before) / before * 100:+.0f}%"


def lines(result) -> list[str]:
    rows = result["backends"]
    out = [
        f"bench: {len(rows)} backend(s); this machine: {result['machine']['cores']} cores, "
        f"{result['machine']['cpu']}, Python {result['machine']['python']}, load average "
        f"{result['machine']['load_average']}"
    ]
    base = result.get("baseline_machine")
    if base:
        out.append(
            f"bench: baseline {result.get('baseline_path')}: measured {base.get('measured', '?')} on "
            f"{base.get('cores')} cores, {base.get('cpu')}, Python {base.get('python')}"
            + (f" ({base['note']})" if base.get("note") else "")
        )
    head = (
        f"{'backend':<20} {'tests':>5} {'wall s':>7} {'CPU s':>7} {'CPU×ref':>7} {'wall×ref':>8} "
        f"{'RSS MiB':>8} | {'base wall':>9} {'base CPU':>8} {'base RSS':>8} {'ΔCPU':>6} {'ΔRSS':>6}"
    )
    out += [head, "-" * len(head)]
    for r in rows:
        b = r.get("baseline") or {}
        out.append(
            f"{r['backend']:<20} {r['tests']:>5} {_num(r['wall_s']):>7} {_num(r['cpu_s']):>7} "
            f"{_num(r['cpu_x_ref'], '{:.2f}'):>7} {_num(r['wall_x_ref'], '{:.2f}'):>8} "
            f"{_num(r['peak_rss_mib'], '{:.0f}'):>8} | {_num(b.get('wall_s')):>9} {_num(b.get('cpu_s')):>8} "
            f"{_num(b.get('peak_rss_mib'), '{:.0f}'):>8} {_delta(r['cpu_s'], b.get('cpu_s')):>6} "
            f"{_delta(r['peak_rss_mib'], b.get('peak_rss_mib')):>6}"
        )
    out.append("where the time goes (s; CPU s in brackets):")
    for r in rows:
        p = r.get("phases") or {}
        parts = []
        if p:
            parts.append(
                f"start-up {_num(p.get('startup_s'))} [{_num(p.get('startup_cpu_s'))}] "
                f"(load {_num(p.get('load_s'))} [{_num(p.get('load_cpu_s'))}])"
            )
            parts.append(f"tests {_num(p.get('tests_s'))} [{_num(p.get('tests_cpu_s'))}]")
        c = r.get("compile")
        if c:
            parts.append(
                f"jax: {c['compiles']} compiles {c['compile_s']:.1f} s + trace/lower "
                f"{c['trace_lower_s']:.1f} s, persistent cache {c['cache_hits']} hits "
                f"({c['cache_saved_s']:.1f} s saved) / {c['cache_misses']} misses"
            )
        top = ", ".join(f"{m} {s:.1f}" for m, s in list(r["modules"].items())[:TOP_MODULES])
        parts.append(f"modules: {top}")
        out.append(f"  {r['backend']:<18} " + "; ".join(parts))
    return out


# ------------------------------------------------------------------ command
def _run_backends(args) -> list[pathlib.Path] | None:
    import tempfile

    from layercontract.reports import records
    from layercontract.spec.harness.commands import run_many

    out = pathlib.Path(args.out or tempfile.mkdtemp(prefix="layercontract-bench-")).resolve()
    parser = argparse.ArgumentParser(prog="layercontract bench")
    run_many.add_arguments(parser)
    argv = [*args.backends, "--out", str(out)] + (["--jobs", str(args.jobs)] if args.jobs else [])
    argv += [f"--select={s}" for s in args.select]
    run_args = parser.parse_args(argv)
    status = run_many.run(run_args)
    if status == run_many.EXIT_HARNESS:
        return None
    return [out / f"{records.record_file_stem(b)}.json" for b in run_many.expand(args.backends)]


def load_baseline(path) -> dict | None:
    if path is None or not pathlib.Path(path).is_file():
        return None
    data = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    if data.get("schema") != SCHEMA:
        raise ValueError(f"{path}: not a {SCHEMA} file")
    return data


def result_of(rows, baseline, baseline_path) -> dict:
    return {
        "schema": SCHEMA,
        "measured": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "baseline_path": str(baseline_path) if baseline else None,
        "baseline_machine": (
            dict(baseline.get("machine", {}), measured=baseline.get("measured"), note=baseline.get("note"))
            if baseline
            else None
        ),
        "backends": rows,
    }


def as_baseline(result) -> dict:
    keep = (
        "wall_s",
        "cpu_s",
        "cpu_user_s",
        "cpu_sys_s",
        "peak_rss_mib",
        "tests",
        "cpu_x_ref",
        "wall_x_ref",
        "phases",
        "compile",
        "modules",
        "versions",
    )
    return {
        "schema": SCHEMA,
        "measured": result["measured"],
        "machine": result["machine"],
        "note": "",
        "backends": {r["backend"]: {k: r.get(k) for k in keep} for r in result["backends"]},
    }


def run(args) -> int:
    if bool(args.from_records) == bool(args.backends):
        print("layercontract bench: give BACKEND... (or 'all') to run, or --from-records RECORD...", file=sys.stderr)
        return EXIT_HARNESS
    outputs = {"--json": args.json, "--save-baseline": args.save_baseline}
    for option, path in outputs.items():
        problem = usable_file(path, option) if path else None
        if problem:  # before the backends run, not after
            print(f"layercontract bench: error: {problem}", file=sys.stderr)
            return EXIT_HARNESS
    if args.from_records:
        paths = [pathlib.Path(p) for p in args.from_records]
    else:
        ran = _run_backends(args)
        if ran is None:
            print("layercontract bench: run-many could not run the backends", file=sys.stderr)
            return EXIT_HARNESS
        paths = ran
    rows = []
    for p in paths:
        try:
            rows.append(measure(p))
        except (OSError, ValueError) as e:
            print(f"layercontract bench: {p}: {e}", file=sys.stderr)
    if not rows:
        print("layercontract bench: no record to measure", file=sys.stderr)
        return EXIT_HARNESS
    with_ratios(rows)
    baseline_path = pathlib.Path(args.baseline) if args.baseline else default_baseline()
    try:
        baseline = load_baseline(baseline_path)
    except ValueError as e:
        print(f"layercontract bench: {e}", file=sys.stderr)
        baseline = None
    compare(rows, baseline)
    result = result_of(rows, baseline, baseline_path)
    print("\n".join(lines(result)), flush=True)
    texts = {
        "--json": lambda: json.dumps(result, indent=1),
        "--save-baseline": lambda: json.dumps(as_baseline(result), indent=1),
    }
    for option, path in outputs.items():
        problem = write_file(path, texts[option]() + "\n", option) if path else None
        if problem:
            print(f"layercontract bench: error: {problem}", file=sys.stderr)
            return EXIT_HARNESS
    return EXIT_OK
