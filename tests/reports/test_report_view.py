"""The merged report as a reader sees it: honest cell labels, deviations as data with
real links, first lines, columns keyed by (backend, version) and the history view, each
with its own test. In-process, on hand-made records (tests/fixtures/reports.py); the
browser's view is tests/reports/test_report_browser.py."""

import re

import jinja2
import markupsafe
import pytest

from layercontract.reports import merge, records, render, schema
from layercontract.spec.harness import cli
from tests.fixtures import reports as rf


def build(*records):
    return merge.build(rf.loaded(*records), generated="2026-11-30T12:00:00+00:00")


@pytest.fixture(scope="module")
def six():
    """reference, keras-jax (2 of 4 FIT tests deviate) and keras-torch, as v3 records."""
    return build(rf.record("reference"), rf.record("keras-jax"), rf.record("keras-torch"))


def test_a_cell_counts_its_tests_of_its_outcome_not_all_its_tests(six):
    fit = six["clauses"][rf.FIT]["results"]
    assert fit["keras-jax"]["counts"] == {"expected-deviation": 2, "pass": 2}
    assert render.cell_label(fit["keras-jax"]) == "2/4 deviate"
    assert render.cell_label(fit["keras-torch"]) == "4/4 pass"
    assert render.cell_label(six["clauses"]["BUILD.LAZY"]["results"]["reference"]) == "pass"
    page = render.html(six)
    assert "≠ 2/4 deviate</a>" in page
    assert "keras-jax · TRAIN.FIT_IS_TRAINING: 2 deviate, 2 pass (of 4 tests)" in page


def test_every_outcome_has_its_own_glyph_and_lightness():
    glyphs = [look.glyph for look in render.LOOKS.values()]
    assert len(set(glyphs)) == len(glyphs)

    def luminance(hex_colour):
        rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    def contrast(a, b):
        hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
        return (hi + 0.05) / (lo + 0.05)

    looks = render.LOOKS
    # the common neighbours in a matrix or a bar differ in lightness, not only in hue
    common = ["pass", "expected-deviation", "unsupported", "not-applicable", "fail"]
    for i, a in enumerate(common):
        for b in common[i + 1 :]:
            assert contrast(looks[a].bar, looks[b].bar) >= 1.3, (a, b)  # bars (measured: 1.36 .. 6.8)
            if "fail" not in (a, b):  # cells also carry a glyph and a word (measured: 1.18 .. 1.76)
                assert contrast(looks[a].bg, looks[b].bg) >= 1.15, (a, b)
    for look in looks.values():  # the text of every cell is readable (WCAG AA)
        assert contrast(look.fg, look.bg) >= 4.5, look


def test_deviation_is_data_with_a_real_upstream_link_and_its_expectations_entry(six):
    test = six["backends"]["keras-jax"]["tests"][f"{rf.FIT_TEST}[fit]"]
    assert test["deviation"] == rf.JAX_DEVIATION
    page = render.html(six)
    assert '<a class="upstream" href="https://github.com/keras-team/keras/issues/23364"' in page
    assert "<code>backends/expectations/keras-jax.toml</code>, entry 2" in page
    # one deviation block for the two parametrized tests it covers, in the cell
    cell = page.split(f'id="cell-{rf.FIT}--keras-jax"', 1)[1].split("</details>", 1)[0]
    assert cell.count('<dl class="dev">') == 1 and "2 tests deviate as expected" in cell


def test_a_v2_record_s_flattened_reason_becomes_the_same_data():
    v2 = build(rf.as_v2(rf.record("keras-jax")))
    dev = v2["backends"]["keras-jax"]["tests"][f"{rf.FIT_TEST}[fit]"]["deviation"]
    assert {k: dev[k] for k in ("kind", "observed", "reason", "upstream", "upstream_url", "when")} == {
        k: rf.JAX_DEVIATION[k] for k in ("kind", "observed", "reason", "upstream", "upstream_url", "when")
    }
    # pytest's strict-xfail text, repeated, of an unexpected pass
    again = records.deviation_from_reason(
        f"[XPASS(strict)] {rf.describe(rf.JAX_DEVIATION)} {rf.describe(rf.JAX_DEVIATION)}",
        "suites/x.py::t",
        "nobody",
        ("f", []),
    )
    assert again["upstream_url"] == rf.JAX_DEVIATION["upstream_url"] and again["reason"] == rf.JAX_DEVIATION["reason"]
    assert records.upstream_url("javascript:alert(1)") is None
    assert records.upstream_url("https://example.org/bug?id=1") == "https://example.org/bug?id=1"


def test_the_first_line_is_the_assertion_not_a_source_line():
    assert records.first_line(rf.TRACEBACK) == "AssertionError: BatchNormalization did not update its moving mean"
    crash = 'Traceback (most recent call last):\n  File "x.py", line 1\nRuntimeError: worker died'
    assert records.first_line(crash) == "RuntimeError: worker died"
    v2 = build(rf.as_v2(rf.record("keras-jax")))
    row = v2["backends"]["keras-jax"]["tests"][f"{rf.FIT_TEST}[fit]"]
    assert row["first_line"].startswith("AssertionError") and "K = <module" not in row["first_line"]
    page = render.html(v2)
    assert '<p class="first">AssertionError: BatchNormalization did not update its moving mean</p>' in page
    assert '<details class="tb"><summary>observed traceback' in page  # folded below


def test_two_versions_of_one_backend_are_two_columns_with_a_history():
    old = rf.record("keras-jax", "3.15.1", started="2026-11-30T10:00:00+00:00")
    new = rf.record("keras-jax", "3.16.0.dev2026102704", started="2026-11-30T09:00:00+00:00")
    for t in new["tests"]:
        if t["outcome"] == "expected-deviation":  # fixed upstream in the nightly
            t.update(outcome="pass", deviation=None, reason=None, message="", first_line="")
    matrix = build(new, old, rf.record("reference"))
    assert list(matrix["backends"]) == ["reference", "keras-jax@3.15.1", "keras-jax@3.16.0.dev2026102704"]
    column = matrix["backends"]["keras-jax@3.16.0.dev2026102704"]
    assert (column["backend"], column["version"], column["version_of"]) == (
        "keras-jax",
        "3.16.0.dev2026102704",
        "keras",
    )
    history = matrix["history"]["keras-jax"]
    assert history["versions"] == ["3.15.1", "3.16.0.dev2026102704"]
    assert history["changes"] == [
        {
            "from": "keras-jax@3.15.1",
            "to": "keras-jax@3.16.0.dev2026102704",
            "from_version": "3.15.1",
            "to_version": "3.16.0.dev2026102704",
            "clause": rf.FIT,
            "old": "expected-deviation",
            "new": "pass",
        }
    ]
    assert schema.errors(matrix, schema.json_schema(schema.MATRIX_SCHEMA)) == []
    page = render.html(matrix)
    assert 'id="history"' in page and "3.15.1 → 3.16.0.dev2026102704" in page
    assert 'id="cell-TRAIN.FIT_IS_TRAINING--keras-jax@3.15.1"' in page
    summary = render.markdown(matrix)
    assert f"- 3.15.1 → 3.16.0.dev2026102704: `{rf.FIT}` deviation → pass" in summary


def test_merge_cli_writes_two_columns_for_two_versions(tmp_path, capsys):
    a = rf.write(tmp_path / "a.json", rf.as_v2(rf.record("keras-jax", "3.15.1")))
    b = rf.write(tmp_path / "b.json", rf.as_v2(rf.record("keras-jax", "3.14.1")))
    assert cli.main(["merge", str(a), str(b), "--out", str(tmp_path / "out")]) == 0, capsys.readouterr()
    data = schema.load(tmp_path / "out" / "matrix.json", schema.MATRIX_SCHEMA)
    assert list(data["backends"]) == ["keras-jax@3.14.1", "keras-jax@3.15.1"]  # version order


def test_a_declared_key_distribution_is_the_version_every_view_shows():
    """A non-Keras implementation (keras-core) declares the distribution that identifies it: the
    column, the Markdown summary and the page show its version, never "?"."""
    data = rf.record("core-jax")
    data.update(schema=records.SCHEMA, key_distribution="keras-core", versions={"keras-core": "0.1.7", "jax": "0.4.1"})
    assert records.validate(data) == []
    matrix = build(data)
    column = matrix["backends"]["core-jax"]
    assert (column["version_of"], column["version"]) == ("keras-core", "0.1.7")
    assert "| **core-jax** | keras-core 0.1.7 | complete |" in render.markdown(matrix)
    assert '<span class="vers">keras-core 0.1.7</span>' in render.html(matrix)
    undeclared = rf.record("core-jax")
    undeclared["versions"] = {"keras-core": "0.1.7"}  # a v3 record: the default rule finds nothing
    assert "| **core-jax** | ? | complete |" in render.markdown(build(undeclared))


def test_a_deviating_test_citing_several_clauses_counts_once():
    """Counts name their unit: a test citing three clauses is one test (it was counted as three,
    test x clause pairs, once)."""
    row = rf.make_row(
        rf.FIT_TEST, [rf.FIT, "BUILD.LAZY", "TRAIN.FIT_UPDATES"], "expected-deviation", rf.TRACEBACK, rf.JAX_DEVIATION
    )
    matrix = build(rf.record("keras-jax", tests=[row]))
    assert [g["n_tests"] for g in render.deviation_groups(matrix)] == [1]
    assert len(render.deviation_groups(matrix)[0]["where"]) == 3  # listed under each of its clauses
    assert "Deviations by reason: 1 reason, 1 test</h2>" in render.html(matrix)
    assert "<summary>Expected deviations: 1 test, 1 reason</summary>" in render.markdown(matrix)


def test_no_count_in_the_page_leaves_its_unit_unsaid():
    data = rf.record("keras-jax")
    data["tests"][0].update(outcome="fail", deviation=None)
    page = render.html(build(data))
    assert "<title>layercontract conformance: 1 backend column, 1 unexpected test</title>" in page
    assert ">Unexpected (1 test)</a>" in page
    assert re.search(r'<span class="muted">of \d+ clauses</span>', page)
    assert not re.search(r'<span class="muted">of \d+</span>', page)
    assert 'title="1 clause: fail"' in page  # a bar segment


# ------------------------------------------------------------------ the bugs
def test_bug_kill_matrix_fault_without_first_message_merges(tmp_path, capsys):
    record = rf.write(tmp_path / "r.json", rf.as_v2(rf.record("reference")))
    kill = rf.write(
        tmp_path / "kill.json",
        {
            "faults": {
                "quiet": {"description": "d", "killed_by": ["BUILD.LAZY"]},
                "survivor": {"description": "s", "killed_by": []},
            }
        },
    )
    code = cli.main(["merge", str(record), "--out", str(tmp_path / "out"), "--kill-matrix", str(kill)])
    output = capsys.readouterr()
    assert code == 0, output
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "<code>quiet</code>" in page and "1 survived" in page


def test_bug_a_clause_id_with_percent_gets_an_encoded_fragment():
    row = rf.make_row("suites/test_odd.py::test_x", ["ODD.100%_SURE"], "pass")
    matrix = build(rf.record("reference", tests=[row]))
    page = render.html(matrix)
    assert 'href="#clause-ODD.100%25_SURE"' in page and 'id="clause-ODD.100%_SURE"' in page
    assert 'href="#cell-ODD.100%25_SURE--reference"' in page


def test_bug_summary_md_escapes_every_text():
    hostile = rf.record("keras-jax")
    dev = dict(rf.JAX_DEVIATION, reason="a ``` run | pipe <b>x</b> *em* [link](http://e) $math$ " + "y" * 600)
    for t in hostile["tests"]:
        if t["outcome"] == "expected-deviation":
            t["deviation"] = dev
    bad = rf.make_row(
        "suites/test_build.py::test_bad[a|b`c]",
        ["BUILD.X|`Y`"],
        "fail",
        "E   AssertionError: ``x`` | <script>alert(1)</script>",
    )
    bad["rerun"] = "python -m pytest --pyargs 'layercontract.suites.test_build::test_bad[a|b`c]' --backend keras-jax"
    hostile["tests"].append(bad)
    hostile["git_commit"] = "`|<i>"
    summary = render.markdown(build(hostile))
    assert "<script" not in summary and "<b>" not in summary
    assert "y" * 600 in summary  # reasons are not cut
    assert "a \\`\\`\\` run \\| pipe &lt;b&gt;x&lt;/b&gt; \\*em\\* \\[link\\](http://e) \\$math\\$" in summary
    assert "`` suites/test_build.py::test_bad[a|b`c] ``" in summary  # a code span longer than its backticks
    assert "| `` BUILD.X\\|`Y` `` |" in summary  # in a table: fenced and | escaped
    assert "Suite `` `|<i> ``;" in summary  # a code span: shown literally, no HTML
    # the deviation keeps clause, upstream link, expectations entry and rerun command, grouped
    assert "([keras-team/keras\\#23364](https://github.com/keras-team/keras/issues/23364))" in summary
    assert "**keras-jax** `TRAIN.FIT_IS_TRAINING`: 2 tests" in summary
    assert "rerun: `python -m pytest --pyargs layercontract.suites.test_train_fit" in summary
    assert summary.count("The JAX trainer") == 0  # (replaced above) ...
    assert summary.count("a \\`\\`\\` run") == 1  # ... and the one reason is written once for its two tests


def test_bug_no_text_from_a_record_becomes_markup_in_the_page():
    hostile = rf.record("keras-jax")
    for t in hostile["tests"]:
        if t["outcome"] == "expected-deviation":
            t["deviation"] = dict(
                rf.JAX_DEVIATION,
                upstream='x" onmouseover="alert(1)',
                upstream_url="javascript:alert(1)",
                reason="<img src=x onerror=alert(1)>",
            )
    page = render.html(build(hostile))
    assert "javascript:" not in page and "<img" not in page and page.count("<script") == 1
    assert str(markupsafe.escape('x" onmouseover="alert(1)')) in page


def test_unexpected_outcomes_are_a_linked_list_on_the_first_screen():
    rec = rf.record("keras-torch")
    next(t for t in rec["tests"] if t["clauses"] == [rf.FIT]).update(
        outcome="fail", message=rf.TRACEBACK, first_line="AssertionError: it broke"
    )
    page = render.html(build(rec))
    section = page.split('<section id="unexpected"', 1)[1].split("</section>", 1)[0]
    assert "Unexpected outcomes: 1 test" in section
    assert re.search(r'href="#cell-TRAIN\.FIT_IS_TRAINING--keras-torch"', section)
    assert "AssertionError: it broke" in section
    assert page.index('id="unexpected"') < page.index('id="matrix"')
    assert '<a href="#unexpected"><span aria-hidden="true">✗</span> 1 unexpected test outcome</a>' in page


def test_attention_first_and_landmarks(six):
    page = render.html(six)
    assert page.index('<tbody id="attention">') < page.index("BUILD — ")
    assert "<main>" in page and 'class="skip" href="#attention"' in page
    assert "<th></th>" not in page and '<th scope="row"><a href="#clause-BUILD.LAZY"' in page
    standing = page.split('<section id="standing"', 1)[1].split("</section>", 1)[0]
    assert 'class="bar"' in standing and "keras 3.15.1" in standing and "clauses" in standing


def test_the_page_is_the_same_from_a_fresh_compiled_or_unusable_template_cache(six, tmp_path, monkeypatch):
    """The report template's compiled code is kept in the user cache (render._compiled_templates);
    a cache that cannot be made or written is no cache, never an error or another page."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    fresh = render.html(six)
    assert list((tmp_path / "cache" / "layercontract" / "templates").iterdir()), "nothing was kept"
    assert render.html(six) == fresh  # read from the cache
    (tmp_path / "a-file").write_text("not a directory\n", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "a-file"))
    assert render.html(six) == fresh  # no cache directory can be made

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "other-cache"))
    monkeypatch.setattr(jinja2.FileSystemBytecodeCache, "dump_bytecode", full_disk)
    assert render.html(six) == fresh  # the compiled code cannot be written
