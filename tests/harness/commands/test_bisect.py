"""layercontract bisect on a fake package index and a fake tester (no network, no Keras): the
order of releases and nightlies, endpoints, the search with skipped builds, the exit statuses,
the compare links, and the per-build judgement from a run record."""

import argparse

import pytest

from layercontract.spec.harness import bisection as b
from layercontract.spec.harness.commands import bisect as command

RELEASES = ["2.15.0", "3.0.0", "3.14.0", "3.15.0", "3.15.1", "3.16.0rc1"]
NIGHTLIES = (
    [f"3.16.0.dev202609{d:02d}04" for d in range(1, 31)]
    + [f"3.16.0.dev202610{d:02d}04" for d in range(1, 28)]
    + ["3.15.0.dev2026010104", "2.5.0.dev2021020700"]
)
AVAILABLE = b.builds(RELEASES, NIGHTLIES)


def v(text):
    return b.resolve(text, AVAILABLE)


def changes_at(first_bad, skip=(), key="suites/test_x.py::test_y"):
    """A fake tester: the check fails from `first_bad` on; builds in `skip` cannot load."""
    first = v(first_bad).version
    seen = []

    def tester(build):
        seen.append(build.text)
        if build.text in skip:
            return b.Observation(None, "cannot install")
        return b.Observation({key: "fail" if build.version >= first else "pass", "other": "pass"})

    tester.seen = seen
    return tester


def test_builds_are_ordered_by_version_releases_and_nightlies_mixed():
    texts = [x.text for x in AVAILABLE]
    assert "2.15.0" not in texts and "2.5.0.dev2021020700" not in texts and "3.16.0rc1" not in texts
    assert (
        texts.index("3.15.0.dev2026010104")
        < texts.index("3.15.0")
        < texts.index("3.15.1")
        < texts.index("3.16.0.dev2026090104")
    )
    assert texts == sorted(texts, key=lambda t: b.Version(t))
    assert v("3.15.1").distribution == "keras" and v("3.16.0.dev2026100504").distribution == "keras-nightly"


def test_endpoints_release_exact_nightly_latest_and_date():
    assert v("nightly").text == "3.16.0.dev2026102704"
    assert v("2026-10-15").text == "3.16.0.dev2026101504"
    assert v("3.16.0.dev2026100104").date.isoformat() == "2026-10-01"
    for bad in ("3.15.7", "2026-11-30", "2026-13-01", "latest", "3.16.0.dev2099010104"):
        with pytest.raises(b.BisectError):
            v(bad)


def test_finds_the_first_bad_nightly_in_about_log2_steps():
    tester = changes_at("3.16.0.dev2026101504")
    steps = []
    result = b.bisect(v("3.15.1"), v("nightly"), AVAILABLE, tester, steps.append)
    assert result.found and not result.is_fix
    assert (result.last_good.text, result.first_bad.text) == ("3.16.0.dev2026101404", "3.16.0.dev2026101504")
    assert result.url == ("https://github.com/keras-team/keras/compare/master@{2026-10-14}...master@{2026-10-15}")
    assert len(tester.seen) == len(set(tester.seen)) <= b.expected_steps(58)  # 57 nightlies + 3.15.1
    assert [s.verdict for s in steps][:2] == ["good", "bad"] and steps[-1].remaining == 0


def test_a_build_that_cannot_load_is_skipped_and_reported():
    tester = changes_at("3.16.0.dev2026101504", skip={"3.16.0.dev2026101404", "3.16.0.dev2026101304"})
    result = b.bisect(v("3.15.1"), v("nightly"), AVAILABLE, tester)
    assert (result.last_good.text, result.first_bad.text) == ("3.16.0.dev2026101204", "3.16.0.dev2026101504")
    assert [x.text for x in result.skipped] == ["3.16.0.dev2026101304", "3.16.0.dev2026101404"]
    assert any(s.verdict == "skip" for s in result.steps)


def test_release_range_links_tags_and_mixed_range():
    result = b.bisect(v("3.14.0"), v("3.15.1"), AVAILABLE, changes_at("3.15.1"))
    assert (result.last_good.text, result.first_bad.text) == ("3.15.0", "3.15.1")
    assert result.url.endswith("/compare/v3.15.0...v3.15.1")
    result = b.bisect(v("3.15.1"), v("nightly"), AVAILABLE, changes_at("3.16.0.dev2026090104"))
    assert result.url.endswith("/compare/v3.15.1...master@{2026-09-01}")


def test_good_newer_than_bad_finds_the_fix():
    result = b.bisect(v("nightly"), v("3.15.1"), AVAILABLE, changes_at("3.16.0.dev2026101504"))
    assert result.is_fix and (result.last_good.text, result.first_bad.text) == (
        "3.16.0.dev2026101504",
        "3.16.0.dev2026101404",
    )


def test_no_difference_and_untestable_endpoints_are_no_result():
    result = b.bisect(v("3.15.1"), v("3.15.0"), AVAILABLE, changes_at("nightly"))
    assert not result.found and "no difference" in result.problem
    result = b.bisect(v("3.15.1"), v("nightly"), AVAILABLE, changes_at("nightly", skip={"3.15.1"}))
    assert not result.found and "cannot be tested" in result.problem
    assert not b.bisect(v("3.15.1"), v("3.15.1"), AVAILABLE, changes_at("nightly")).found


def test_record_judgement_is_raw_pass_fail_ignoring_expectations():
    record = {
        "tests": [
            {"nodeid": "a", "outcome": "expected-deviation", "first_line": "x"},
            {"nodeid": "b", "outcome": "unexpected-pass"},
            {"nodeid": "c", "outcome": "unsupported"},
            {"nodeid": "d", "outcome": "harness-error", "first_line": "ImportError"},
        ]
    }
    assert b.observe_record(record).state == {"a": "fail", "b": "pass"}
    broken = {"tests": [{"nodeid": "d", "outcome": "harness-error", "first_line": "ImportError: no keras"}]}
    observation = b.observe_record(broken)
    assert observation.state is None and "ImportError" in observation.note
    assert b.observe_record(None, "pytest exit status 4").state is None


def _args(*argv):
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return parser.parse_args(argv)


def test_command_prints_steps_result_and_link(capsys):
    status = command.run(
        _args("TRAIN.FUNCTIONAL_PINNED_IS_LOCAL", "--good", "3.15.1", "--bad", "2026-10-27"),
        available=AVAILABLE,
        tester=changes_at("2026-10-15"),
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "last good: keras-nightly 3.16.0.dev2026101404\nfirst bad: keras-nightly 3.16.0.dev2026101504" in out
    assert (
        "upstream commits: https://github.com/keras-team/keras/compare/master@{2026-10-14}...master@{2026-10-15}" in out
    )
    assert "[1] keras 3.15.1: GOOD" in out and "[2] keras-nightly 3.16.0.dev2026102704: BAD" in out


def test_command_writes_the_result_as_json(tmp_path, capsys):
    import json

    out = tmp_path / "bisect.json"
    assert (
        command.run(
            _args("TRAIN.FUNCTIONAL_PINNED_IS_LOCAL", "--good", "3.15.1", "--bad", "nightly", "--json", str(out)),
            available=AVAILABLE,
            tester=changes_at("2026-10-15"),
        )
        == 0
    )
    data = json.loads(out.read_text())
    assert (data["last_good"], data["first_bad"]) == ("3.16.0.dev2026101404", "3.16.0.dev2026101504")
    assert data["url"].endswith("master@{2026-10-14}...master@{2026-10-15}") and data["exit_status"] == 0
    assert data["confirmed"] is None  # not asked
    assert data["steps"][0] == {
        "build": "3.15.1",
        "distribution": "keras",
        "verdict": "good",
        "note": "",
        "seconds": data["steps"][0]["seconds"],
        "state": {"suites/test_x.py::test_y": "pass", "other": "pass"},
    }


def test_command_exit_statuses(capsys):
    same = command.run(
        _args("TRAIN.FUNCTIONAL_PINNED_IS_LOCAL", "--good", "3.15.0", "--bad", "3.15.1"),
        available=AVAILABLE,
        tester=changes_at("nightly"),
    )
    assert same == 1 and "no difference" in capsys.readouterr().out
    for argv in (
        ("NO.SUCH_CLAUSE", "--good", "3.15.1", "--bad", "nightly"),
        ("suites/test_nothing.py::test_x", "--good", "3.15.1", "--bad", "nightly"),
        ("TRAIN.FUNCTIONAL_PINNED_IS_LOCAL", "--good", "3.15.9", "--bad", "nightly"),
        ("TRAIN.FUNCTIONAL_PINNED_IS_LOCAL", "--good", "3.15.1", "--bad", "3.15.1"),  # one build: nothing to search
        ("TRAIN.FUNCTIONAL_PINNED_IS_LOCAL", "--good", "3.15.1", "--bad", "nightly", "--backend", "tf-keras"),
        ("TRAIN.FUNCTIONAL_PINNED_IS_LOCAL", "--good", "3.15.1", "--bad", "nightly", "--backend", "keras-jax@3.15.1"),
        ("--good", "3.15.1", "--bad", "nightly"),
    ):
        assert command.run(_args(*argv), available=AVAILABLE, tester=changes_at("nightly")) == 2, argv
        assert "error" in capsys.readouterr().err


def test_clause_selects_exactly_the_checks_citing_it():
    targets = command.select(["TRAIN.FUNCTIONAL_PINNED_IS_LOCAL"])
    assert [t.rsplit("/", 1)[1] for t in targets] == [
        "test_train_functional.py::test_pinned_training_does_not_reach_downstream_batchnorm",
        "test_train_functional.py::test_pinned_training_does_not_make_predict_train_downstream_batchnorm",
    ]
    check = "suites/test_train_functional.py::test_pinned_training_does_not_make_predict_train_downstream_batchnorm[predict]"
    assert command.select([check])[0].endswith(check.split("/", 1)[1])


def test_suite_tester_runs_one_child_with_the_selection_and_no_expectations(tmp_path):
    tester = b.SuiteTester("keras-numpy", ["/x/suites/test_a.py::t"], tmp_path)
    cmd = tester.command(v("2026-10-15"), tmp_path / "r.json")
    assert "--backend=keras-numpy@3.16.0.dev2026101504" in cmd and "/x/suites/test_a.py::t" in cmd
    assert f"--expectations={tmp_path / 'no-expectations.toml'}" in cmd
    assert (tmp_path / "no-expectations.toml").read_text().startswith("#")


@pytest.mark.parametrize("jobs", [2, 3])
def test_parallel_rounds_find_the_same_pair_in_fewer_rounds(jobs):
    import threading
    import time

    lock, rounds, active = threading.Lock(), [], [0]
    plain = changes_at("3.16.0.dev2026101504", skip={"3.16.0.dev2026100904"})

    def tester(build):
        with lock:
            active[0] += 1
            rounds.append(active[0])
        try:
            time.sleep(0.05)  # long enough for the round's other tests to start
            return plain(build)
        finally:
            with lock:
                active[0] -= 1

    result = b.bisect(v("3.15.1"), v("nightly"), AVAILABLE, tester, jobs=jobs)
    assert (result.last_good.text, result.first_bad.text) == ("3.16.0.dev2026101404", "3.16.0.dev2026101504")
    sequential = b.bisect(v("3.15.1"), v("nightly"), AVAILABLE, changes_at("3.16.0.dev2026101504"))
    assert b.expected_steps(58, jobs) < b.expected_steps(58) == len(sequential.steps)
    assert len(result.steps) >= len(sequential.steps) - 1  # more builds tested, in fewer rounds
    assert max(rounds) == jobs  # each round's builds were tested at once


def test_confirm_reruns_last_good_and_first_bad(capsys):
    flips = {"3.16.0.dev2026101504": 0}
    base = changes_at("2026-10-15")

    def flaky(build):
        if build.text in flips:
            flips[build.text] += 1
            if flips[build.text] > 1:  # passes on the rerun
                return b.Observation({"suites/test_x.py::test_y": "pass", "other": "pass"})
        return base(build)

    argv = ("TRAIN.FUNCTIONAL_PINNED_IS_LOCAL", "--good", "3.15.1", "--bad", "nightly", "--confirm")
    assert command.run(_args(*argv), available=AVAILABLE, tester=changes_at("2026-10-15")) == 0
    assert "confirmed: the rerun" in capsys.readouterr().out
    assert command.run(_args(*argv), available=AVAILABLE, tester=flaky) == 1
    assert "NOT confirmed (keras-nightly 3.16.0.dev2026101504 was bad, now good)" in capsys.readouterr().out
    assert command.run(_args(*argv, "--jobs", "0"), available=AVAILABLE, tester=base) == 2


# ------------------------------------------------- the real testers, on stub Keras overlays
def _stub_overlays(root, versions, source="__version__ = {version!r}\n"):
    import json

    from layercontract.spec.harness import overlay

    for version in versions:
        path = root / version
        (overlay.packages_dir(path) / "keras").mkdir(parents=True)
        (overlay.packages_dir(path) / "keras" / "__init__.py").write_text(source.format(version=version))
        (path / overlay.MARKER).write_text(
            json.dumps({"distribution": "keras-nightly" if ".dev" in version else "keras", "version": version})
        )


def test_reproducer_bisect_end_to_end_on_stub_overlays(tmp_path, monkeypatch, capsys):
    """The real ReproducerTester (a child process per build, the overlay on PYTHONPATH) under the
    command; a build whose Keras cannot import is skipped."""
    nightlies = [f"3.16.0.dev202610{d:02d}04" for d in range(1, 9)]
    available = b.builds(["3.15.1"], nightlies)
    cache = tmp_path / "cache"
    _stub_overlays(cache, ["3.15.1", *nightlies[:3], *nightlies[4:]])
    _stub_overlays(cache, [nightlies[3]], source="raise ImportError('broken build')\n")
    (tmp_path / "f" / "reproducers").mkdir(parents=True)
    (tmp_path / "f" / "findings.toml").write_text(
        '[[finding]]\nid = "f"\nkind = "regression"\ntitle = "t"\nreason = "r"\nbackends = ["keras-jax"]\n'
    )
    (tmp_path / "f" / "reproducers" / "f.py").write_text(
        "import os, sys\ntry:\n    import keras\nexcept ImportError as e:\n    print(e); sys.exit(2)\n"
        "assert os.environ['KERAS_BACKEND'] == 'jax'\n"
        "sys.exit(1 if keras.__version__ >= '3.16.0.dev2026100504' else 0)\n"
    )
    monkeypatch.setenv("LAYERCONTRACT_KERAS_CACHE", str(cache))
    status = command.run(
        _args(
            "--reproducer",
            "f",
            "--findings",
            str(tmp_path / "f" / "findings.toml"),
            "--good",
            "3.15.1",
            "--bad",
            "nightly",
        ),
        available=available,
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "last good: keras-nightly 3.16.0.dev2026100304\nfirst bad: keras-nightly 3.16.0.dev2026100504" in out
    assert "skipped (could not be tested) between them: 3.16.0.dev2026100404" in out
    assert "reproducer cannot run: broken build" in out


def test_suite_tester_skips_a_build_whose_keras_cannot_import(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    _stub_overlays(cache, ["3.16.0.dev2026100404"], source="raise ImportError('broken build')\n")
    monkeypatch.setenv("LAYERCONTRACT_KERAS_CACHE", str(cache))
    targets = command.select(["suites/test_build.py::test_build_runs_once_over_calls_with_new_batch_sizes"])
    tester = b.SuiteTester("keras-numpy", targets, tmp_path / "work")
    observation = tester(b.Build(b.Version("3.16.0.dev2026100404"), "keras-nightly"))
    assert observation.state is None
    assert "broken build" in observation.note, observation.note


def test_the_index_listing_is_read_from_pip_index_versions(monkeypatch):
    import subprocess

    from layercontract.spec.harness import overlay

    listing = {
        "keras": "keras (3.15.1)\nAvailable versions: 3.15.1, 3.15.0, 3.0.0, 2.15.0\n",
        "keras-nightly": "keras-nightly (3.16.0.dev2026102704)\nAvailable versions: 3.16.0.dev2026102704, "
        "3.16.0.dev2026102604, 3.15.0.dev2026010104, 2.5.0.dev2021020700\n",
    }
    calls = []

    def fake_pip(*args, timeout=None):
        calls.append(args)
        return subprocess.CompletedProcess(args, 0, "WARNING: ignored\n" + listing[args[2]], "")

    monkeypatch.setattr(overlay, "_pip", fake_pip)
    found = [x.text for x in b.index_builds()]
    assert found == [
        "3.0.0",
        "3.15.0.dev2026010104",
        "3.15.0",
        "3.15.1",
        "3.16.0.dev2026102604",
        "3.16.0.dev2026102704",
    ]
    assert all(c[:2] == ("index", "versions") and "--pre" in c for c in calls)
    monkeypatch.setattr(
        overlay, "_pip", lambda *a, timeout=None: subprocess.CompletedProcess(a, 1, "", "ERROR: offline")
    )
    with pytest.raises(b.BisectError, match="offline"):
        b.index_builds()
