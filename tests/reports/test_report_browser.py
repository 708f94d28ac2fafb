"""The merged report in a real browser, as a person uses it: Debian's Chromium
(/usr/bin/chromium, or $LAYERCONTRACT_CHROMIUM) driven by playwright (pinned in pyproject's dev
extra; its own browser downloads are never used). Nothing is fetched: any request that is not the
page itself fails the test, and so does any console error.

The only test that needs a browser, and the only thing that needs a system package: Chromium is
installed by `bash .ci/install-browser` (apt-get, as root or with sudo), which CI runs before the
tests (.ci/run); .ci/install and `./lc run` never do. Without Chromium this test fails in CI ($CI,
as GitHub Actions sets it, or $LAYERCONTRACT_REQUIRE_BROWSER=1) and is skipped elsewhere, saying
how to install it.

Screenshots at 1440x900 and 390x844 go to reports/out/screenshots/ (CI keeps reports/out/), or
$LAYERCONTRACT_SCREENSHOTS. With $LAYERCONTRACT_REPORT_PAGE (.ci/run sets it to the merged
six-backend report) that page is checked and photographed too.
"""

from __future__ import annotations

import os
import pathlib

import pytest

from layercontract.reports import merge
from tests.fixtures import reports as rf

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("LAYERCONTRACT_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SHOTS = pathlib.Path(os.environ.get("LAYERCONTRACT_SCREENSHOTS") or ROOT / "reports" / "out" / "screenshots")
SIZES = {"desktop": (1440, 900), "phone": (390, 844)}
UPSTREAM = rf.JAX_DEVIATION["upstream_url"]
ODD = "ODD.100%_SURE"


def browser_required() -> bool:
    """In CI a missing browser fails the test; elsewhere it is skipped."""
    return bool(os.environ.get("CI") or os.environ.get("LAYERCONTRACT_REQUIRE_BROWSER"))


def missing_browser():
    how = (
        f"the browser test needs Chromium at {CHROMIUM}: run `bash .ci/install-browser` (apt-get install "
        "chromium, as root or with sudo), or set LAYERCONTRACT_CHROMIUM to a Chromium binary"
    )
    if browser_required():
        pytest.fail(f"{how} (required here: $CI or $LAYERCONTRACT_REQUIRE_BROWSER is set)")
    pytest.skip(f"{how}; nothing else needs a browser")


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "the browser test needs playwright: pip install -e '.[dev]' (never `playwright install`: "
            "the system's Chromium is used)"
        )
    if not pathlib.Path(CHROMIUM).is_file():
        missing_browser()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> pathlib.Path:
    """reference (with a clause ID holding a %), keras-jax 3.15.1 (2 of 4 FIT tests deviate,
    upstream keras-team/keras#23364), keras-jax 3.16.0.dev (fixed), keras-torch (one failure)."""
    tmp = tmp_path_factory.mktemp("browser")
    reference = rf.record("reference")
    reference["tests"].append(rf.make_row("suites/test_odd.py::test_sure", [ODD], "pass"))
    nightly = rf.record("keras-jax", "3.16.0.dev2026102704")
    for t in nightly["tests"]:
        if t["outcome"] == "expected-deviation":
            t.update(outcome="pass", deviation=None, reason=None, message="", first_line="")
    torch = rf.record("keras-torch")
    next(t for t in torch["tests"] if t["clauses"] == ["BUILD.LAZY"]).update(
        outcome="fail",
        message=rf.TRACEBACK.replace("BatchNormalization did not", "build() did not"),
        first_line="AssertionError: build() did not run",
    )
    records = [reference, rf.record("keras-jax", "3.15.1"), nightly, torch]
    out = tmp / "out"
    matrix = merge.build(rf.loaded(*records), generated="2026-11-30T12:00:00+00:00")
    for name, text in merge.render_all(matrix).items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text, encoding="utf-8")
    return out / "index.html"


class Page:
    """A page with its console errors, uncaught exceptions and attempted network requests."""

    def __init__(self, browser, path: pathlib.Path, size: str, fragment: str = "", init_script: str | None = None):
        width, height = SIZES[size]
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.problems: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"uncaught: {e}"))
        self.page.route(lambda url: not url.startswith(("file:", "data:", "about:")), self._network)
        if init_script:
            self.page.add_init_script(init_script)
        self.page.goto(path.as_uri() + fragment)
        self.allow: set[str] = set()

    def _network(self, route):
        url = route.request.url
        if url in getattr(self, "allow", ()):  # the one click a test makes on an upstream link
            route.fulfill(status=200, content_type="text/html", body="<title>upstream</title>")
        else:
            self.problems.append(f"network request: {url}")
            route.abort()

    def first_paint_ms(self) -> float:
        return self.page.evaluate(
            "() => (performance.getEntriesByName('first-contentful-paint')[0] || {startTime: -1}).startTime"
        )

    def close(self):
        self.page.close()
        assert self.problems == []


def cell_link(page, cid: str, column: str):
    return page.locator(f'#matrix-table a[href="#cell-{cid}--{column}"]')


@pytest.mark.parametrize("size", list(SIZES))
def test_a_person_finds_why_keras_jax_deviates_and_follows_the_upstream_link(browser, report, size):
    p = Page(browser, report, size)
    page = p.page
    width, height = SIZES[size]
    SHOTS.mkdir(parents=True, exist_ok=True)
    # the first screen: every column's standing (bar) without scrolling
    bars = page.locator("#standing .bar")
    assert bars.count() == 4
    for i in range(4):
        box = bars.nth(i).bounding_box()
        assert box and box["y"] + box["height"] <= height, f"bar {i} below the first screen"
    assert page.locator("#unexpected").get_by_text("AssertionError: build() did not run").is_visible()

    # click 1: the keras-jax 3.15.1 cell of TRAIN.FIT_IS_TRAINING
    link = cell_link(page, rf.FIT, "keras-jax@3.15.1")
    assert link.inner_text().strip() == "≠ 2/4 deviate"
    link.click()
    cell = page.locator(f'details.cell[id="cell-{rf.FIT}--keras-jax@3.15.1"]')
    assert cell.get_attribute("open") is not None
    reason = cell.locator("dd.reason").first
    assert reason.is_visible() and "bypasses __call__" in reason.inner_text()
    upstream = cell.locator("a.upstream").first
    assert upstream.is_visible() and upstream.get_attribute("href") == UPSTREAM
    assert cell.get_by_text("--backend keras-jax").first.is_visible()  # the rerun command
    # the clause heading stays in view above the drill-down
    heading = page.locator(f'details.clause[id="clause-{rf.FIT}"] > summary')
    box = heading.bounding_box()
    assert box and 0 <= box["y"] < height / 3, box
    # click 2: the upstream link works (the request is answered here: the test is offline)
    p.allow = {UPSTREAM}
    with page.expect_navigation():
        upstream.click()
    assert page.url == UPSTREAM
    p.close()


def test_sticky_header_and_first_column_on_a_phone(browser, report):
    p = Page(browser, report, "phone")
    page = p.page
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES["phone"][0]  # no sideways page
    box = page.locator(".mbox").first
    page.evaluate("""() => { const b = document.querySelector('.mbox'); b.scrollLeft = 400; b.scrollTop = 200; }""")
    outer = box.bounding_box()
    first_col = page.locator("#matrix-table tbody th[scope=row]").first.bounding_box()
    header = page.locator("#matrix-table thead th").nth(1).bounding_box()
    assert abs(first_col["x"] - outer["x"]) <= 2 and abs(header["y"] - outer["y"]) <= 2, (outer, first_col, header)
    p.close()


def test_bug_a_bad_fragment_leaves_the_page_working_and_copy_falls_back(browser, report):
    # a malformed percent escape used to throw URIError before any handler was set
    p = Page(
        browser, report, "desktop", fragment="#%E0%A4%A", init_script="delete Navigator.prototype.clipboard"
    )  # no Clipboard API
    page = p.page
    toggle = page.locator("#only-attention")
    good_row = page.locator("#matrix-table tr.good").first
    assert good_row.is_visible()
    toggle.check()
    assert not good_row.is_visible()
    toggle.uncheck()
    cell_link(page, rf.FIT, "keras-jax@3.15.1").click()
    button = page.locator(f'details.cell[id="cell-{rf.FIT}--keras-jax@3.15.1"] button.copy').first
    command = button.locator("xpath=..").locator("code").inner_text()
    button.click()
    assert button.inner_text() in ("copied", "selected: press Ctrl+C")
    assert page.evaluate("window.getSelection().toString()") == command
    p.close()


def test_bug_a_clause_id_with_percent_opens(browser, report):
    p = Page(browser, report, "desktop")
    page = p.page
    page.locator("#matrix-table").get_by_role("link", name=ODD).click()
    assert page.locator(f'details[id="clause-{ODD}"]').get_attribute("open") is not None
    p.close()


def test_anchor_by_backend_name_and_reclicking_reopens(browser, report):
    # a shared link names the backend, not a column position (and not the version: the first opens)
    p = Page(browser, report, "desktop", fragment=f"#cell-{rf.FIT}--keras-torch")
    page = p.page
    torch_cell = page.locator(f'details.cell[id="cell-{rf.FIT}--keras-torch"]')
    assert torch_cell.get_attribute("open") is not None
    page.goto(report.as_uri() + f"#cell-{rf.FIT}--keras-jax")
    jax = page.locator(f'details.cell[id="cell-{rf.FIT}--keras-jax@3.15.1"]')
    assert jax.get_attribute("open") is not None
    jax.locator("> summary").click()  # close it
    assert jax.get_attribute("open") is None
    cell_link(page, rf.FIT, "keras-jax@3.15.1").click()
    page.locator("#matrix-table").scroll_into_view_if_needed()
    cell_link(page, rf.FIT, "keras-jax@3.15.1").click()  # the same fragment again
    assert jax.get_attribute("open") is not None
    jax.locator("> summary").click()
    cell_link(page, rf.FIT, "keras-jax@3.15.1").click()
    assert jax.get_attribute("open") is not None
    p.close()


# every report page checked in general: the fixture's, and the six-backend one .ci/run merged
PAGES = ["fixture"] + (["ci-report"] if os.environ.get("LAYERCONTRACT_REPORT_PAGE") else [])


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("which", PAGES)
def test_a_report_loads_offline_without_errors_and_opens_a_deviation(browser, report, which, size):
    path = report if which == "fixture" else pathlib.Path(os.environ["LAYERCONTRACT_REPORT_PAGE"]).resolve()
    p = Page(browser, path, size)
    page = p.page
    width, height = SIZES[size]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{which}-first-screen-{width}x{height}.png"))
    assert page.locator("#standing .bar").first.is_visible()
    deviation = page.locator("#matrix-table td.o-expected-deviation a").first
    assert deviation.count() == 1, "no deviation cell to open"
    deviation.click()
    target = page.evaluate("decodeURIComponent(location.hash.slice(1))")
    cell = page.locator(f'details.cell[id="{target}"]')
    assert cell.get_attribute("open") is not None and cell.locator("dd.reason").first.is_visible()
    page.screenshot(path=str(SHOTS / f"{which}-deviation-{width}x{height}.png"))
    print(f"{which} {size}: first contentful paint {p.first_paint_ms():.0f} ms")
    p.close()
