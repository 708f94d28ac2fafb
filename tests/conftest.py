"""The README test command (`./lc test`, i.e. `python -m pytest` in the checkout with no paths):
- it leaves out the tests marked `integration` (real frameworks: doctor on every built-in
  backend, the example adapter on Keras, a real Keras release installed as an overlay, the
  wheel on Keras); CI runs them right after it with `./lc test -m integration`. Any -m given,
  or any path, selects as asked.
- it runs on pytest-xdist workers, one more than CPUs, `--dist loadfile`. Much of the tests'
  time is waiting (on child processes, timeouts, a Ctrl-C's grace period), so the extra worker
  keeps the cores busy. Each test module runs whole in one worker, so a module's shared fixture
  (the fault runs' zygote, run-many over misbehaving adapters, the wheel, a `layercontract run`,
  the browser) runs once; modules start longest first (LONGEST_FIRST), since xdist's own order
  (by number of tests) would start a long module of few tests last. Not `--dist loadgroup`:
  with pytest 9.2 and xdist 3.8 the group suffix on node ids is lost, so every test would be its
  own unit. With paths, -k, -n, --collect-only or `-p no:xdist` it runs in one process as asked."""

import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Modules by their time in the plain command, longest first (measured: `./lc test --durations=0`,
# summed per module), except that the three that mostly wait (on timeouts and signalled children:
# interrupts, run-many, expectations) are kept apart, each after one that keeps the CPUs busy:
# started together they left a core idle (idle CPU time 10 -> 6 s a run, 2-9 s of wall). Only the
# schedule depends on it; a module not listed runs after these.
LONGEST_FIRST = (
    "tests/reference_impl/test_faults.py",
    "tests/harness/commands/test_bad_input_concurrency.py",
    "tests/harness/commands/test_bad_input_run.py",
    "tests/harness/commands/test_bad_input_interrupts.py",
    "tests/harness/test_plugin.py",
    "tests/harness/commands/test_run_many.py",
    "tests/checkout/test_wheel.py",
    "tests/harness/commands/test_bad_input_expectations.py",
    "tests/harness/commands/test_bad_input_keras_cache.py",
    "tests/reports/test_records_merge_diff.py",
    "tests/reports/test_report_browser.py",
    "tests/harness/test_adapter_contract.py",
    "tests/suites/test_checks_can_fail.py",
    "tests/harness/commands/test_bad_input_full_disk.py",
    "tests/harness/test_keras_versions.py",
    "tests/harness/commands/test_bad_input_records.py",
    "tests/harness/commands/test_bad_input_reruns.py",
    "tests/test_forked.py",
    "tests/harness/commands/test_expectations_draft.py",
    "tests/harness/commands/test_run.py",
)
INTEGRATION = "integration"
MARKEXPR = "layercontract_tests_markexpr"


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    if hasattr(config, "workerinput"):  # an xdist worker selects as its controller decided
        if config.workerinput.get(MARKEXPR) is not None:
            config.option.markexpr = config.workerinput[MARKEXPR]
        return
    if config.args_source != pytest.Config.ArgsSource.TESTPATHS:
        return
    if not config.getoption("markexpr", ""):
        config.option.markexpr = f"not {INTEGRATION}"
    if (
        config.pluginmanager.has_plugin("xdist")
        and not config.getoption("numprocesses", None)
        and not config.getoption("keyword", "")
        and not config.getoption("collectonly", False)
    ):
        config.option.numprocesses = workers()
        config.option.dist = "loadfile"
        config.option.loadscopereorder = False  # keep the order pytest_collection_modifyitems sets


def workers() -> int:
    """One more than the CPUs this process may use (at most 8: a module is the unit of work)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(cpus + 1, 8)


def pytest_collection_modifyitems(config, items):
    """Longest modules first (a stable sort: tests keep their order within a module)."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    def module_rank(item):
        try:
            name = pathlib.Path(str(item.path)).resolve().relative_to(ROOT).as_posix()
        except ValueError:
            return len(rank)
        return rank.get(name, len(rank))

    items.sort(key=module_rank)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """xdist, in the controller: workers get the command line, not the -m chosen above."""
    node.workerinput[MARKEXPR] = node.config.getoption("markexpr", "")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        f"{INTEGRATION}: a test on real frameworks (Keras, TensorFlow, JAX, "
        "torch, OpenVINO); the plain README command leaves it out, "
        "CI runs `./lc test -m integration`",
    )
    # xdist registers xdist_group itself; with `-p no:xdist` the marker must still be known
    # (filterwarnings turns an unknown mark into an error).
    config.addinivalue_line("markers", "xdist_group(name): run in one xdist worker with the same group")
