"""The HTML report of a real study, opened in a real browser: headless Chromium (Debian's
`chromium` package) driven by Playwright, at a 1280 x 900 viewport and a phone's 390 x 844.

It checks what a reader would notice: a plot that does not load, a contents link that goes
nowhere, a table cut off at the page edge, a script error. Where no browser is available the
test skips and says why; with CNNLAB_REQUIRE_BROWSER=1 (set by .ci/run) it fails instead.
"""

import os
import re
import shutil

import pytest
from PIL import Image

from cnnlab.report import section_titles
from cnnlab.document import slug

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 1280, 900
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# Runs in the page; returns what the test asserts on.
INSPECT = """async () => {
  const width = document.documentElement.clientWidth;
  const images = await Promise.all([...document.images].map(async img => {
    let decoded = true;
    try { await img.decode(); } catch (e) { decoded = false; }
    return {alt: img.alt, complete: img.complete, naturalWidth: img.naturalWidth, decoded,
            shownWidth: img.getBoundingClientRect().width};
  }));
  const links = [...document.querySelectorAll('a[href^="#"]')].map(a => a.getAttribute('href'));
  const unresolved = links.filter(href => !document.getElementById(decodeURIComponent(href.slice(1))));
  // An element past the page's edge is fine only inside a box of its own that scrolls it
  // (and that box is itself checked like any other element).
  const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  const inScrollBox = el => { for (let p = el.parentElement; p && p !== document.body; p = p.parentElement)
                                if (scrolls(p)) return true;
                              return false; };
  const overflowing = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if ((box.width === 0 && box.height === 0) || inScrollBox(el)) continue;
    if (box.left < -0.5 || box.right > width + 0.5)
      overflowing.push(`${el.tagName.toLowerCase()}.${el.className} right=${Math.round(box.right)}: `
                       + (el.textContent || '').trim().slice(0, 60));
  }
  const cut = [...document.querySelectorAll('.table-wrap')]
    .filter(w => w.scrollWidth > w.clientWidth + 1)
    .map(w => w.closest('section').id);
  const header = (section, text) => [...document.querySelectorAll(`#${section} th`)]
    .filter(th => th.textContent === text).map(th => th.getBoundingClientRect().right);
  return {width, scrollWidth: document.documentElement.scrollWidth, images, links, unresolved, overflowing,
          cut, sections: [...document.querySelectorAll('section')].map(s => s.id),
          peakMemory: header('summary', 'Peak train memory'), exploding: header('gradient-flow', 'Exploding')};
}"""


def _chromium() -> str:
    """The browser's path, or a skip saying what is missing (a failure under CI)."""
    missing = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "the playwright package is not installed (pip install -e '.[dev]')"
    path = os.environ.get("CNNLAB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if missing is None and not path:
        missing = "no Chromium found (apt-get install chromium, or set CNNLAB_CHROMIUM to its path)"
    if missing:
        if os.environ.get("CNNLAB_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser test cannot run: {missing}; CNNLAB_REQUIRE_BROWSER=1 demands it")
        pytest.skip(f"browser test skipped: {missing}")
    return path


def _open(html, width: int, height: int, screenshot) -> tuple[dict, list[str]]:
    """What INSPECT finds in the page at this viewport, and any console or page error."""
    chromium = _chromium()
    from playwright.sync_api import sync_playwright

    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url[:80]}"))
            page.goto(html.as_uri(), wait_until="load")
            found = page.evaluate(INSPECT)
            page.screenshot(path=screenshot, full_page=True)
        finally:
            browser.close()
    return found, problems


def test_report_in_headless_chromium(tiny_study, tmp_path):
    _chromium()
    html = tiny_study.report_path
    expected_images = html.read_text(encoding="utf-8").count('<img src="data:image/png;base64,')
    found, problems = _open(html, WIDTH, HEIGHT, tmp_path / "report-1280.png")

    assert found["width"] == WIDTH
    # The sections of this report: every section title, those of unmeasured analyses gathered into one.
    titles = re.findall(r"^## (.+)$", html.with_suffix(".md").read_text(encoding="utf-8"), flags=re.M)
    assert set(titles) - {"Not measured"} <= set(section_titles()) and len(titles) >= 10
    assert found["sections"] == [slug(s) for s in titles]
    # Every plot decodes: the page has as many images as the report embeds, none broken.
    assert len(found["images"]) == expected_images >= 8
    broken = [i["alt"] for i in found["images"] if not (i["complete"] and i["naturalWidth"] > 0 and i["decoded"])]
    assert not broken, broken
    # Every contents link lands on a section.
    assert len(found["links"]) == len(titles) and not found["unresolved"], found["unresolved"]
    # Nothing sticks out of the page; the summary and gradient-flow tables fit without scrolling.
    assert found["scrollWidth"] <= WIDTH
    assert not found["overflowing"], found["overflowing"][:5]
    assert "summary" not in found["cut"] and "gradient-flow" not in found["cut"], found["cut"]
    assert found["peakMemory"] and max(found["peakMemory"]) <= WIDTH
    assert found["exploding"] and max(found["exploding"]) <= WIDTH
    assert not problems, problems

    shot = Image.open(tmp_path / "report-1280.png")
    assert shot.width == WIDTH and shot.height > 4 * HEIGHT


PHONE_WIDTH, PHONE_HEIGHT = 390, 844


def test_report_on_a_phone_screen(tiny_study, tmp_path):
    """At 390 px the page itself never scrolls sideways; plots keep at least 2/3 of their own
    width (labels stay readable) and scroll inside their own box, as wide tables do."""
    found, problems = _open(tiny_study.report_path, PHONE_WIDTH, PHONE_HEIGHT, tmp_path / "report-390.png")
    assert found["width"] == PHONE_WIDTH and found["scrollWidth"] <= PHONE_WIDTH
    assert not found["overflowing"], found["overflowing"][:5]
    wide = [i for i in found["images"] if i["naturalWidth"] * 2 / 3 > PHONE_WIDTH]
    assert len(wide) >= 5  # the learning curves and most other plots would be squeezed at 390 px
    small = [(i["alt"], i["shownWidth"], i["naturalWidth"]) for i in found["images"]
             if i["shownWidth"] < round(i["naturalWidth"] * 2 / 3) - 1]
    assert not small, small


def test_tuned_report_with_its_tuning_plot_in_headless_chromium(write_fake_study, tmp_path):
    """A tuned study's report (stored results, no training): the tuning plot decodes and its table fits."""
    from cnnlab.report import render_report

    _chromium()
    write_study, fake_tuning = write_fake_study
    models = (("fc", "FC"), ("simple-cnn", "Simple CNN"))
    record = fake_tuning(models, [1e-4, 3e-4, 1e-3, 3e-3, 1e-2],
                         {"fc": [0.5, 0.7, 0.8, 0.75, 0.6], "simple-cnn": [0.4, 0.6, 0.7, 0.85, 0.9]})
    study_dir = write_study(tmp_path / "out", models=models, folder="fake-tuned", tuning=record,
                            model_train={m.model: m.chosen for m in record.models})
    _, html = render_report(study_dir)
    found, problems = _open(html, WIDTH, HEIGHT, tmp_path / "tuned-1280.png")

    assert found["sections"] == [slug(s) for s in section_titles()]
    tuning = [i for i in found["images"] if i["alt"].startswith("Validation accuracy against the learning rate")]
    assert len(tuning) == 1 and tuning[0]["complete"] and tuning[0]["naturalWidth"] > 0 and tuning[0]["decoded"]
    assert "tuning" not in found["cut"], found["cut"]
    assert found["scrollWidth"] <= WIDTH and not found["overflowing"], found["overflowing"][:5]
    assert not problems, problems
