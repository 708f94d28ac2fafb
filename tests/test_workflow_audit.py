"""The GitHub workflow is safe to run on pull requests: zizmor's offline audit (pedantic) finds
nothing - actions pinned to commit SHAs, no persisted credentials in checkouts, no template
injection. Part of the README test command, so `.ci/run` runs it."""
import os
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_zizmor_offline_audit_of_the_workflows_finds_nothing():
    # zizmor is pinned in the dev extra; its wheel installs a binary beside this interpreter.
    zizmor = shutil.which("zizmor", path=os.path.dirname(sys.executable)) or shutil.which("zizmor")
    assert zizmor, "zizmor is not installed: it is pinned in pyproject's dev extra (./lc installs it)"
    result = subprocess.run([zizmor, "--offline", "--persona", "pedantic", str(ROOT / ".github" / "workflows")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout + result.stderr, result.stdout + result.stderr
