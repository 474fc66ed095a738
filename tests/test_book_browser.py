"""The smoke-profile book in a real browser: headless Chromium driven by selenium.

Every page loads; every local link, image, stylesheet and script answers 200;
every link to an anchor finds it; images decode, each with alternative text that is not
its file name, none shown narrower than MIN_SHOWN_FRACTION of its own width (its text
would be unreadable); each chapter shows the paper's
figures and tables it reproduces; no page logs a console error or shows stderr or
a warning in an output; formulas are typeset by the book's own MathJax (no
network); the results page comes first after the introduction and every cell of
its grid links to an existing section. Screenshots of the introduction and one figure
chapter land in the session's scratch folder, and in book/_static/screenshots/
when NAS_CORE_SAVE_SCREENSHOTS=1.
"""
import functools
import http.server
import os
import re
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urldefrag, urlparse

import pytest

from nas_core import bookgen

REPO = Path(__file__).resolve().parents[1]
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                       reason="headless browser check needs Debian's chromium and chromium-driver "
                              "(apt-get install -y chromium chromium-driver; .ci/run installs them)"),
]
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
CHAPTERS = ("performance_vs_epochs", "top_k", "mutual_correlation", "bias", "pruning", "stability")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a request the browser dropped half-way (broken pipe) is no error of the book


@pytest.fixture(scope="module")
def site(smoke_book):
    """The built HTML served on 127.0.0.1 at a free port; yields (base URL, html folder)."""
    book, res = smoke_book
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    html = book / "_build" / "html"
    server = _QuietServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(html)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", html
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1000",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console messages, read per page
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(40)
    yield driver
    driver.quit()


# What a page says about itself, read in the browser after its load event.
PAGE_JS = """
return {
  title: document.title,
  text: document.body ? document.body.innerText : "",
  links: Array.from(document.querySelectorAll("a[href]"), a => a.href),
  images: Array.from(document.images, i => ({src: i.currentSrc || i.src, w: i.naturalWidth, ok: i.complete,
                                             alt: i.getAttribute("alt"), shown: i.getBoundingClientRect().width})),
  ids: Array.from(document.querySelectorAll("[id], a[name]"), e => e.id || e.name),
  resources: performance.getEntriesByType("resource").map(r => ({url: r.name, status: r.responseStatus})),
  stderr: Array.from(document.querySelectorAll(".output.stderr, .stderr"), e => e.innerText),
  outputs: Array.from(document.querySelectorAll(".cell_output"), e => e.innerText).join("\\n"),
  glance: Array.from(document.querySelectorAll("a.glance-link"), a => a.href),
  glance_cells: document.querySelectorAll("table.glance-grid td").length,
};
"""

# After the load event: wait for MathJax to typeset the page's formulas (if it has any).
MATH_JS = """
const done = arguments[arguments.length - 1];
const math = document.querySelectorAll(".math").length;
if (!math) { done({math: 0, typeset: 0}); return; }
const t0 = Date.now();
(function wait() {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    MathJax.startup.promise.then(() => done({math: math, typeset: document.querySelectorAll("mjx-container").length}))
      .catch(e => done({math: math, typeset: 0, error: String(e)}));
  } else if (Date.now() - t0 > 30000) { done({math: math, typeset: 0, error: "MathJax did not load"}); }
  else { setTimeout(wait, 100); }
})();
"""


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def has_label(text: str, label: str) -> bool:
    """'Figure 1' in the text, but not as part of 'Figure 13'."""
    return re.search(re.escape(label) + r"(?!\d)", text) is not None


RENDERED_JS = 'return document.readyState === "complete" && !!document.body && document.body.innerText.trim().length > 0;'


def _wait_for_rendered_body(browser, timeout_s: float = 30) -> None:
    """On a loaded machine Chromium can report the load event before the page has laid out any
    text (its body's innerText is still empty): wait for that, up to ``timeout_s``; a page that
    stays empty still fails ``test_every_page_loads``."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(browser, timeout_s, poll_frequency=0.2).until(lambda d: d.execute_script(RENDERED_JS))
    except TimeoutException:
        pass


@pytest.fixture(scope="module")
def pages(site, browser):
    """Every HTML page of the book, opened in Chromium: relative path -> what PAGE_JS read."""
    base, html = site
    out = {}
    for path in sorted(html.rglob("*.html")):
        rel = path.relative_to(html).as_posix()
        if rel.split("/")[0] in ("_static", "_sources", "_images"):
            continue
        browser.get(base + rel)
        _wait_for_rendered_body(browser)
        page = browser.execute_script(PAGE_JS)
        page["mathjax"] = browser.execute_async_script(MATH_JS)
        page["console"] = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        out[rel] = page
    return out


def test_every_page_loads(pages):
    assert "intro.html" in pages and "figures.html" in pages and "provenance.html" in pages
    for rel, page in pages.items():
        assert page["title"].strip(), f"{rel}: no title"
        assert page["text"].strip(), f"{rel}: empty body"
        assert "404" not in page["title"], f"{rel}: {page['title']}"


def test_no_broken_internal_links_or_images(site, pages):
    base, _ = site
    ids = {rel: set(p["ids"]) for rel, p in pages.items()}
    broken, checked = [], {}
    for rel, page in pages.items():
        for href in page["links"]:
            if not href.startswith(base):
                continue  # external, mailto:, javascript:
            url, frag = urldefrag(href)
            if url not in checked:
                checked[url] = http_status(url)
            if checked[url] != 200:
                broken.append(f"{rel}: link {href} -> HTTP {checked[url]}")
                continue
            target = urlparse(url).path.lstrip("/") or "index.html"
            if frag and target in ids and frag not in ids[target]:
                broken.append(f"{rel}: link {href}: no #{frag} on {target}")
        for img in page["images"]:
            if img["src"].startswith(base):
                status = checked.setdefault(img["src"], http_status(img["src"]))
                if status != 200:
                    broken.append(f"{rel}: image {img['src']} -> HTTP {status}")
            if not (img["ok"] and img["w"] > 0):
                broken.append(f"{rel}: image {img['src'][:120]} did not decode (naturalWidth {img['w']})")
        for r in page["resources"]:  # stylesheets, scripts, fonts, images the page fetched itself
            if r["url"].startswith(base) and not r["url"].endswith("/favicon.ico") and r["status"] not in (200, 304):
                broken.append(f"{rel}: resource {r['url']} -> HTTP {r['status']}")
    assert not broken, "\n".join(broken[:40])


def test_paper_figures_and_tables_are_in_their_chapters(site, pages):
    existing = bookgen.existing_experiments()
    figures_page = pages["figures.html"]["text"]
    for label, _, experiment, _, _ in bookgen.FIGURES:
        assert has_label(figures_page, label), f"the figure index has no row for {label}"
        if experiment in existing:
            chapter = pages[f"experiments/{experiment}.html"]
            assert has_label(chapter["text"], label), f"{label} is missing from chapter {experiment}"
            if label.startswith("Figure"):
                assert any(i["w"] > 0 for i in chapter["images"]), f"chapter {experiment} shows no image"
    assert has_label(pages["recipes.html"]["text"], "Table 2")
    for name in existing:  # every written chapter is in the book
        assert f"experiments/{name}.html" in pages
    intro_links = {urldefrag(h)[0] for h in pages["intro.html"]["links"]}
    for text, names in bookgen.FINDINGS:  # the introduction links each finding to its chapters
        for name in names:
            if name in existing:
                assert f"{site[0]}experiments/{name}.html" in intro_links, f"the introduction does not link {name}"


def test_provenance_page_lists_every_stored_result(pages, smoke_root):
    text = pages["provenance.html"]["text"]
    results = sorted((smoke_root / "results").rglob("*.json"))
    assert results, "the smoke run stored no result"
    for path in results:
        assert path.stem in text, f"provenance page misses {path.relative_to(smoke_root)}"


def test_screenshots(site, browser, smoke_root):
    base, _ = site
    existing = bookgen.existing_experiments()
    chapter = next((c for c in CHAPTERS if c in existing), None)
    shots = {"intro": "intro.html"}
    if chapter:
        shots[chapter] = f"experiments/{chapter}.html"
    folder = smoke_root / "screenshots"
    folder.mkdir(exist_ok=True)
    for name, rel in shots.items():
        browser.get(base + rel)
        if name != "intro":  # scroll to the chapter's first figure
            browser.execute_script("var i = document.querySelector('.cell_output img');"
                                   "if (i) i.scrollIntoView({block: 'center'});")
        png = folder / f"{name}.png"
        assert browser.save_screenshot(str(png)) and png.stat().st_size > 10_000, f"screenshot {png} failed"
    if os.environ.get("NAS_CORE_SAVE_SCREENSHOTS") == "1":
        dest = REPO / "book" / "_static" / "screenshots"
        dest.mkdir(parents=True, exist_ok=True)
        for png in folder.glob("*.png"):
            shutil.copy(png, dest / png.name)


def test_no_console_errors(pages):
    errors = [f"{rel}: {e['message'][:200]}" for rel, p in pages.items() for e in p["console"]
              if not e["message"].rstrip().endswith("favicon.ico - Failed to load resource: the server responded "
                                                    "with a status of 404 (File not found)")]
    assert not errors, "\n".join(errors[:20])


WARNING_TEXT = re.compile(r"\b\w*Warning: |Traceback \(most recent call last\)")


def test_no_stderr_or_warnings_in_outputs(pages):
    bad = [f"{rel}: stderr output {t[:120]!r}" for rel, p in pages.items() for t in p["stderr"]]
    bad += [f"{rel}: {m.group(0)!r} in an output" for rel, p in pages.items()
            for m in [WARNING_TEXT.search(p["outputs"])] if m]
    assert not bad, "\n".join(bad[:20])


def test_math_is_typeset_offline(site, pages):
    base, _ = site
    with_math = {rel: p["mathjax"] for rel, p in pages.items() if p["mathjax"]["math"]}
    assert with_math, "no page has a formula: the check would prove nothing"
    for rel, m in with_math.items():
        assert not m.get("error") and m["typeset"] >= m["math"], f"{rel}: formulas not typeset: {m}"
    for rel, p in pages.items():  # MathJax and everything else from the book itself, not a CDN
        outside = [r["url"] for r in p["resources"] if not r["url"].startswith(base) and not r["url"].startswith("data:")]
        assert not outside, f"{rel} loads {outside[:3]}"


def test_results_page_first_and_every_cell_links_to_a_section(site, pages):
    base, _ = site
    assert "results.html" in pages, "no results page"
    intro_links = [urldefrag(h)[0] for h in pages["intro.html"]["links"]]
    assert f"{base}results.html" in intro_links
    page = pages["results.html"]
    assert has_label(page["text"], "Results at a glance")
    expected = sum(len(spaces) for spaces in bookgen.PAPER_SPACES.values())
    assert len(page["glance"]) == expected, f"{len(page['glance'])} linked cells, expected {expected}"
    assert page["glance_cells"] == len(bookgen.FIGURES) * len(bookgen.SPACE_ORDER)
    ids = {rel: set(p["ids"]) for rel, p in pages.items()}
    for href in page["glance"]:
        url, frag = urldefrag(href)
        target = urlparse(url).path.lstrip("/")
        assert target in pages, f"results cell links to a missing page: {href}"
        assert not frag or frag in ids[target], f"results cell links to no section: {href}"
    for i in range(1, 6):
        assert f"Finding {i}:" in page["text"]


def test_every_image_has_alternative_text(pages):
    """Alt text says what a figure shows (``nas_core.plots.alt_text``, given to the page by
    ``book/_ext/book_fixes.py``): not empty, and not the file name docutils falls back to."""
    images = [(rel, i) for rel, p in pages.items() for i in p["images"]]
    assert images, "no page shows an image: the check would prove nothing"
    bad = []
    for rel, img in images:
        alt = (img["alt"] or "").strip()
        name = img["src"].rsplit("/", 1)[-1]
        if not alt or name in alt or re.search(r"\.(png|jpe?g|svg|gif)$", alt):
            bad.append(f"{rel}: {name[:40]}... alt {alt[:80]!r}")
    assert not bad, f"{len(bad)} of {len(images)} images without alternative text:\n" + "\n".join(bad[:20])


# The book's figures are drawn at 96 dpi (plots.setup) with seaborn's "notebook" text: ticks 11 pt,
# axis labels and titles 12 pt (15-16 px); plots.py's legends are 7-8 pt (9-11 px). Shown at 0.6 of
# their width or more, labels stay >= 8.8 px on screen (legends >= 5.6 px: a reader enlarges those
# by clicking, _static/enlarge.js); narrower, a figure must be redrawn (fewer panels to a row,
# plots.panel_grid), not shrunk. Measured in the browser fixture's 1280 px wide window, where the
# content column shows images at up to 676 px.
MIN_SHOWN_FRACTION = 0.6


def test_no_figure_is_shrunk_below_readable_size(pages):
    shown = [(rel, i) for rel, p in pages.items() for i in p["images"] if i["w"] > 0 and i["shown"] > 0]
    assert shown, "no image is displayed: the check would prove nothing"
    small = [f"{rel}: {i['src'].rsplit('/', 1)[-1][:24]}... {i['w']} px wide, shown at {i['shown']:.0f} px "
             f"({i['shown'] / i['w']:.2f}) alt {str(i['alt'])[:70]!r}"
             for rel, i in shown if i["shown"] / i["w"] < MIN_SHOWN_FRACTION]
    assert not small, (f"{len(small)} of {len(shown)} images shown below {MIN_SHOWN_FRACTION} of their width:\n"
                       + "\n".join(small[:20]))
