"""`layercontract repro` and `layercontract upstream-report` on a small findings file of their
own (stub reproducers that need no Keras; a stub Keras overlay for NAME@VERSION)."""

import json
import pathlib
import textwrap

import pytest

from layercontract.spec.harness import cli, findings, overlay

REPRODUCER = textwrap.dedent('''\
    """Finding {id}: a stub.

    Clauses:  {clauses}
    """
    import os, sys
    where = "no overlay"
    if os.environ.get("LAYERCONTRACT_KERAS_OVERLAY"):  # the stub overlay's keras (the real one is slow)
        import keras
        where = f"keras {{keras.__version__}}"
    print(f"KERAS_BACKEND={{os.environ.get('KERAS_BACKEND')}} {{where}}")
    print("observed: the thing happened")
    print("traceback-like detail", file=sys.stderr)
    sys.exit({exit})
    ''')


def write_findings(root: pathlib.Path) -> pathlib.Path:
    (root / "reproducers").mkdir(parents=True)
    entries = {
        "f-holds": (1, "TRAIN.FUNCTIONAL_PINNED_IS_LOCAL"),
        "f-fixed": (0, "BUILD.ONCE"),
        "f-cannot": (2, "BUILD.ONCE"),
    }
    text = ""
    for fid, (code, clause) in entries.items():
        (root / "reproducers" / f"{fid}.py").write_text(REPRODUCER.format(id=fid, exit=code, clauses=clause))
        text += textwrap.dedent(f'''\
            [[finding]]
            id = "{fid}"
            kind = "regression"
            title = "Title of {fid}"
            cause = "keras/src/layers/layer.py Layer._resolve_and_populate_arg"
            upstream = ["https://github.com/keras-team/keras/pull/23364"]
            status = "unreported upstream"
            when = "keras >= 3.16.0.dev0"
            backends = ["keras-jax", "keras-numpy"]
            last_good = "3.16.0.dev2026101404"
            first_bad = "3.16.0.dev2026101504"
            reason = "Why {fid} happens."

            ''')
    (root / "findings.toml").write_text(text)
    return root / "findings.toml"


def stub_overlay(root: pathlib.Path, version: str) -> pathlib.Path:
    path = root / version
    (overlay.packages_dir(path) / "keras").mkdir(parents=True)
    (overlay.packages_dir(path) / "keras" / "__init__.py").write_text(f"__version__ = {version!r}\n")
    (path / overlay.MARKER).write_text(json.dumps({"distribution": "keras-nightly", "version": version}))
    return path


@pytest.fixture
def findings_file(tmp_path):
    return write_findings(tmp_path / "findings")


@pytest.mark.parametrize(
    "fid, status, verdict", [("f-holds", 1, "HOLDS"), ("f-fixed", 0, "FIXED"), ("f-cannot", 2, "CANNOT RUN")]
)
def test_repro_prints_output_and_verdict_and_exits_with_its_status(findings_file, capsys, fid, status, verdict):
    assert cli.main(["repro", fid, "--findings", str(findings_file), "--backend", "keras-jax"]) == status
    out = capsys.readouterr().out
    assert "KERAS_BACKEND=jax" in out and "observed: the thing happened" in out
    assert f"{fid} on keras-jax: {verdict} (exit status {status}" in out
    assert ("traceback-like detail" in out) == (status == 2)  # stderr only when it cannot run


def test_repro_default_backend_and_version_overlay(findings_file, tmp_path, capsys):
    assert cli.main(["repro", "f-holds", "--findings", str(findings_file)]) == 1
    assert "KERAS_BACKEND=numpy" in capsys.readouterr().out  # keras-numpy preferred
    cache = tmp_path / "cache"
    stub_overlay(cache, "3.16.0.dev2026101504")
    assert (
        cli.main(
            [
                "repro",
                "f-fixed",
                "--findings",
                str(findings_file),
                "--keras-cache",
                str(cache),
                "--backend",
                "keras-torch@3.16.0.dev2026101504",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "KERAS_BACKEND=torch keras 3.16.0.dev2026101504" in out


def test_repro_bad_input(findings_file, tmp_path, capsys):
    assert cli.main(["repro", "f-hold", "--findings", str(findings_file)]) == 2
    assert "did you mean f-holds" in capsys.readouterr().err
    assert cli.main(["repro", "f-holds", "--findings", str(tmp_path / "none.toml")]) == 2
    assert "no findings file" in capsys.readouterr().err
    assert cli.main(["repro", "f-holds", "--findings", str(findings_file), "--backend", "tf-keras@2.21"]) == 2


def test_reproducer_path_is_beside_the_findings_file(findings_file):
    finding = findings.get("f-holds", findings_file)
    assert findings.reproducer_script(finding) == findings_file.parent.resolve() / "reproducers" / "f-holds.py"
    assert findings.FINDINGS_FILE.name == "findings.toml" and findings.FINDINGS_FILE.parent.name == "backends"


def test_upstream_report_draft(findings_file, tmp_path, capsys):
    (findings_file.parent / "expectations").mkdir()
    (findings_file.parent / "expectations" / "keras-jax.toml").write_text(
        '[[deviation]]\ntest = "suites/test_train_functional.py::test_x"\nclause = "TRAIN.TRANSFER_HEAD_TRAINS"\n'
        'finding = "f-holds"\nobserved = "the head receives False"\nmatch = "x"\n'
    )
    out = tmp_path / "drafts" / "f-holds.md"
    assert cli.main(["upstream-report", "f-holds", "--findings", str(findings_file), "--out", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("# Title of f-holds\n\nWhy f-holds happens.")
    assert "- Holds where: `keras >= 3.16.0.dev0`" in text
    assert "- First bad: keras-nightly 3.16.0.dev2026101504 (last good: keras-nightly 3.16.0.dev2026101404)" in text
    assert "```python\n" + (findings_file.parent / "reproducers" / "f-holds.py").read_text().rstrip() + "\n```" in text
    assert "> **TRAIN.FUNCTIONAL_PINNED_IS_LOCAL** (SHOULD): A construction-time `training=`" in text
    assert "> **TRAIN.TRANSFER_HEAD_TRAINS** (MUST)" in text  # from the expectations entry
    assert "- keras-jax, `suites/test_train_functional.py::test_x`: the head receives False" in text
    assert "https://github.com/keras-team/keras/compare/master@{2026-10-14}...master@{2026-10-15}" in text
    assert "- https://github.com/keras-team/keras/pull/23364" in text
    assert (
        cli.main(["upstream-report", "f-holds", "--findings", str(findings_file), "--run", "--backend", "keras-jax"])
        == 0
    )
    text = capsys.readouterr().out
    assert "- Reproduced on: keras-jax: exit status 1 (holds)" in text and "observed: the thing happened" in text
    assert cli.main(["upstream-report", "nope", "--findings", str(findings_file)]) == 2
