"""The README test command (`./lc test`, i.e. `python -m pytest` in the checkout with no paths)
runs on two pytest-xdist workers, `--dist loadgroup`: most tests wait on a child process (a
pytest run, a CLI command, a doctor per backend), so two workers keep both cores busy. The
fault runs of tests/test_faults.py stay in one worker (group "faults"; their zygote forks two
runs at a time itself). Anything else - paths or -k given, -n given, `-p no:xdist` - runs as
asked."""
import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    if (config.pluginmanager.has_plugin("xdist") and not hasattr(config, "workerinput")
            and config.args_source == pytest.Config.ArgsSource.TESTPATHS
            and not config.getoption("numprocesses", None) and not config.getoption("keyword", "")
            and not config.getoption("collectonly", False)):
        config.option.numprocesses = 2
        config.option.dist = "loadgroup"
