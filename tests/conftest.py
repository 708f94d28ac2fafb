"""The README test command (`./lc test`, i.e. `python -m pytest` in the checkout with no paths):
- it leaves out the tests marked `integration` (real frameworks: doctor on every built-in
  backend, the example adapter on Keras, a real Keras release installed as an overlay); CI runs
  them right after it with `./lc test -m integration`. Any -m given, or any path, selects as
  asked.
- it runs on two pytest-xdist workers, `--dist loadgroup`: most tests wait on a child process
  (a pytest run, a CLI command), so two workers keep both cores busy. The fault runs of
  tests/test_faults.py stay in one worker (group "faults"; their zygote forks two runs at a
  time itself). The tests of a module that share a module-scoped fixture (one run-many over
  misbehaving adapters, one wheel, one `layercontract run`, one browser) are one group too, so
  that fixture runs once, not once per worker. With paths, -k, -n, --collect-only or
  `-p no:xdist` it runs in one process as asked."""
import pytest

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
    if (config.pluginmanager.has_plugin("xdist") and not config.getoption("numprocesses", None)
            and not config.getoption("keyword", "") and not config.getoption("collectonly", False)):
        config.option.numprocesses = 2
        config.option.dist = "loadgroup"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """xdist, in the controller: workers get the command line, not the -m chosen above."""
    node.workerinput[MARKEXPR] = node.config.getoption("markexpr", "")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Under xdist, module- and session-scoped fixtures are per worker: keep the tests that use
    one defined in their own module in one group (before xdist reads the groups)."""
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        module = item.nodeid.split("::", 1)[0]
        definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
        if any(d.scope in ("module", "session") and d.baseid == module
               for defs in definitions.values() for d in defs):
            item.add_marker(pytest.mark.xdist_group(f"shared-fixture:{module}"))


def pytest_configure(config):
    config.addinivalue_line("markers", f"{INTEGRATION}: a test on real frameworks (Keras, TensorFlow, JAX, "
                                       "torch, OpenVINO); the plain README command leaves it out, "
                                       "CI runs `./lc test -m integration`")
    # xdist registers xdist_group itself; with `-p no:xdist` the marker must still be known
    # (filterwarnings turns an unknown mark into an error).
    config.addinivalue_line("markers", "xdist_group(name): run in one xdist worker with the same group")
