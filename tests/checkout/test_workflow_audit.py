"""The GitHub workflow and the reusable action (.github/actions/layercontract) are safe to run on
pull requests: zizmor's offline audit (pedantic) finds nothing - actions pinned to commit SHAs, no
persisted credentials in checkouts, no template injection. Part of the README test command, so
`.ci/run` runs it."""

import os
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_zizmor_offline_audit_of_the_workflows_finds_nothing():
    # zizmor is pinned in the dev extra; its wheel installs a binary beside this interpreter.
    zizmor = shutil.which("zizmor", path=os.path.dirname(sys.executable)) or shutil.which("zizmor")
    assert zizmor, "zizmor is not installed: it is pinned in pyproject's dev extra (./lc installs it)"
    result = subprocess.run(
        [
            zizmor,
            "--offline",
            "--persona",
            "pedantic",
            str(ROOT / ".github" / "workflows"),
            str(ROOT / ".github" / "actions" / "layercontract" / "action.yml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout + result.stderr, result.stdout + result.stderr


def test_the_workflow_exercises_the_reusable_action_on_the_example_adapter():
    # (text, not YAML: no YAML parser is among the pinned dependencies)
    action = (ROOT / ".github" / "actions" / "layercontract" / "action.yml").read_text(encoding="utf-8")
    assert "using: composite" in action
    for what in (
        "  backends:\n",
        "  adapter:\n",
        "layercontract run-many $BACKENDS",
        "GITHUB_STEP_SUMMARY",
        "actions/upload-artifact@",
        "exit 1",
        '"$GITHUB_ACTION_PATH/../../.."',
    ):
        assert what in action, what
    workflow = (ROOT / ".github" / "workflows" / "conformance.yml").read_text(encoding="utf-8")
    job = workflow.split("\n  example-adapter:\n", 1)[1].split("\n\n  ", 1)[0]
    assert job.count("uses: $/.github/actions/layercontract") == 2
    assert "backends: example-keras-numpy\n" in job and "backends: example-keras-numpy-lenient\n" in job
    assert job.count("adapter: examples/layercontract-example-adapter") == 2
    assert "steps.lenient.outcome" in job  # the deviating backend must fail the action


def test_the_history_jobs_run_every_minor_of_the_supported_range_and_one_job_merges_them():
    workflow = (ROOT / ".github" / "workflows" / "conformance.yml").read_text(encoding="utf-8")
    history = workflow.split("\n  history:\n", 1)[1].split("\n\n  ", 1)[0]
    newest_patches = "3.1.1 3.2.1 3.3.3 3.4.1 3.5.0 3.6.0 3.7.0 3.8.0 3.9.2 3.10.0 3.11.3 3.12.4 3.13.2 3.14.1 3.15.1"
    listed = " ".join(line.split('"')[1] for line in history.splitlines() if line.strip().startswith("versions:"))
    for version in newest_patches.split():
        assert version in listed.split(), f"the history jobs do not run Keras {version}"
    assert "backend: [keras-numpy, keras-tensorflow, keras-torch]" in history
    assert "backend: keras-jax" in history and '"3.10.0 3.11.3 3.12.4 3.13.2 3.14.1 3.15.1"' in history
    assert 'layercontract run-many "${targets[@]}"' in history
    report = workflow.split("\n  history-report:\n", 1)[1].split("\n\n  ", 1)[0]
    assert "needs: [history, nightly]" in report and "if: always()" in report
    assert "pattern: history-record-*" in report and "pattern: nightly-record-*" in report
    assert "layercontract merge" in report
