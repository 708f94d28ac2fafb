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
    entries = {"f-holds": (1, "TRAIN.FUNCTIONAL_PINNED_IS_LOCAL"), "f-fixed": (0, "BUILD.ONCE"),
               "f-cannot": (2, "BUILD.ONCE")}
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


@pytest.mark.parametrize("fid, status, verdict", [("f-holds", 1, "HOLDS"), ("f-fixed", 0, "FIXED"),
                                                  ("f-cannot", 2, "CANNOT RUN")])
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
    assert cli.main(["repro", "f-fixed", "--findings", str(findings_file), "--keras-cache", str(cache),
                     "--backend", "keras-torch@3.16.0.dev2026101504"]) == 0
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
    assert finding.reproducer == findings_file.parent / "reproducers" / "f-holds.py"
    assert findings.FINDINGS_FILE.name == "findings.toml" and findings.FINDINGS_FILE.parent.name == "backends"
