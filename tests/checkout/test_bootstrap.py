"""./lc, the checkout's entry point (README set-up: `./lc run`, `./lc test`): it prepares .venv
through .ci/install when .venv is missing or pyproject.toml/.ci/install changed since the last
install, and otherwise goes straight to .venv's layercontract or pytest. Exercised on a copy of
the script with a stand-in .ci/install and .venv that record how they were called; the real
install on a fresh clone is timed in the closing notes (about 4 minutes with a warm pip cache)."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]

FAKE_INSTALL = """#!/usr/bin/env bash
set -e
cd "$(dirname "$0")/.."
echo install >> calls.log
mkdir -p .venv/bin
for tool in python layercontract; do
  printf '#!/bin/sh\\necho "%s $*" >> "%s/calls.log"\\n' "$tool" "$PWD" > .venv/bin/$tool
  chmod +x .venv/bin/$tool
done
"""


def _checkout(tmp_path) -> pathlib.Path:
    root = tmp_path / "checkout"
    (root / ".ci").mkdir(parents=True)
    shutil.copy2(ROOT / "lc", root / "lc")
    shutil.copy2(ROOT / "pyproject.toml", root / "pyproject.toml")
    (root / ".ci" / "install").write_text(FAKE_INSTALL)
    return root


def _lc(root, *args, cwd=None):
    result = subprocess.run(
        [str(root / "lc"), *args],
        cwd=cwd or root,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "PYTHON"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return (root / "calls.log").read_text().splitlines()


def test_first_use_installs_then_later_uses_start_at_once(tmp_path):
    root = _checkout(tmp_path)
    assert _lc(root, "run") == ["install", "layercontract run"]
    assert _lc(root, "test", "-x", "tests") == ["install", "layercontract run", "python -m pytest -x tests"]
    assert _lc(root, "run-many", "all")[-1] == "layercontract run-many all"
    assert _lc(root, "run")[-1] == "layercontract run"
    assert _lc(root, "run").count("install") == 1


def test_a_changed_pyproject_or_install_script_installs_again(tmp_path):
    root = _checkout(tmp_path)
    _lc(root, "run")
    with (root / "pyproject.toml").open("a") as f:
        f.write("\n# a new pin\n")
    assert _lc(root, "run").count("install") == 2
    with (root / ".ci" / "install").open("a") as f:
        f.write("\n# another step\n")
    assert _lc(root, "run").count("install") == 3
    assert _lc(root, "run").count("install") == 3


def test_test_runs_in_the_checkout_and_commands_keep_the_working_directory(tmp_path):
    root = _checkout(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / ".ci" / "install").write_text(FAKE_INSTALL.replace('echo "%s $*"', 'echo "%s $* in $(pwd)"'))
    calls = _lc(root, "test", cwd=elsewhere)
    assert calls[-1] == f"python -m pytest in {root}"
    calls = _lc(root, "run", cwd=elsewhere)
    assert calls[-1] == f"layercontract run in {elsewhere}"


def test_readme_set_up_is_the_two_commands_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Set-up and use", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["./lc run", "./lc test"]
    ci_run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert all(f"\n{c}\n" in ci_run for c in commands)
    assert not re.search(r"bash \.ci/install(?!-browser)", ci_run) and ".venv/bin/" not in ci_run


# ------------------------------------------- the main job installs nothing system-wide
SYSTEM_TOOL = """#!/bin/sh
echo "SYSTEM $(basename "$0") $*" >> "{log}"
exit 1
"""
STUB_PYTHON = """#!/bin/sh
# a stand-in interpreter: `-m venv .venv` creates .venv/bin/python (itself); anything else is logged
echo "python $*" >> "{log}"
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"; fi
exit 0
"""


def test_install_needs_no_root_no_browser_and_no_system_package(tmp_path):
    """.ci/install (what `./lc run` runs on first use) as a user without root on a machine without
    Chromium: sudo, apt-get, apt, dnf, brew and snap all fail and log their calls; none is called,
    and the install still reaches its pip steps."""
    root = tmp_path / "checkout"
    (root / ".ci").mkdir(parents=True)
    shutil.copy2(ROOT / ".ci" / "install", root / ".ci" / "install")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    for tool in ("sudo", "apt-get", "apt", "dnf", "brew", "snap", "chromium"):
        (bin_dir / tool).write_text(SYSTEM_TOOL.format(log=log))
        (bin_dir / tool).chmod(0o755)
    (bin_dir / "id").write_text("#!/bin/sh\necho 1000\n")  # not root
    (bin_dir / "id").chmod(0o755)
    python = bin_dir / "python-stub"
    python.write_text(STUB_PYTHON.format(log=log))
    python.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "PYTHON": str(python),
        "LAYERCONTRACT_CHROMIUM": str(tmp_path / "no-chromium"),
    }
    result = subprocess.run(
        ["bash", str(root / ".ci" / "install")], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    calls = log.read_text().splitlines()
    assert not [c for c in calls if c.startswith("SYSTEM")], calls
    assert any("-m pip install" in c and ".[keras,dev]" in c for c in calls), calls
    text = (ROOT / ".ci" / "install").read_text()
    assert not re.search(
        r"\b(sudo|apt-get|apt|dnf|brew|chromium)\b", text.split("\n", 3)[-1].replace("install-browser", "")
    ), "the main job's install must not touch the system"


def test_the_browser_is_installed_only_where_the_browser_test_runs():
    ci_run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    browser = ci_run.index("bash .ci/install-browser")
    assert ci_run.index("\n./lc run\n") < browser < ci_run.index("\n./lc test\n")
    assert "LAYERCONTRACT_REQUIRE_BROWSER=1" in ci_run
    script = (ROOT / ".ci" / "install-browser").read_text(encoding="utf-8")
    assert "apt-get install" in script and "LAYERCONTRACT_CHROMIUM" in script
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert ".ci/install-browser" in readme and "browser test" in readme
