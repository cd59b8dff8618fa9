"""The published book in a real browser: `_build/html` served on localhost, every page loaded in
headless Chromium (Debian's, driven by Playwright).

Every page: no console error, no script error, no failed or 4xx/5xx request, no request leaving
localhost (MathJax is served by the site itself), every image loaded, every equation typeset by
MathJax (no raw TeX left). Across pages: no broken internal link or anchor. The search page finds
"forget gate"; exercise pages carry launch buttons with the URLs that `_config.yml` implies.
Screenshots of the home page and of a chapter are saved to `_build/screenshots/` for a reviewer.
Skips, saying why, only where Chromium is neither installed nor installable (see chromium.py).
"""

import functools
import http.server
import re
import threading
import urllib.parse
from pathlib import Path

import pytest
import yaml

import chromium
from conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.book, pytest.mark.browser]

SHOTS = ROOT / "_build" / "screenshots"


def _toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries:
            files.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc["parts"]:
        walk(part["chapters"])
    return files


PAGES = [f"{f}.html" for f in _toc_files()] + ["search.html", "genindex.html"]
EXERCISES = [f for f in _toc_files() if f.startswith("exercises/")]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(built_book):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(_QuietHandler, directory=str(built_book)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    try:
        exe = chromium.executable()
    except chromium.Unavailable as exc:
        pytest.skip(str(exc))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=chromium.LAUNCH_ARGS)
        yield b
        b.close()


# What a page shows once loaded and typeset. Code, scripts and typeset math are left out of the
# text in which raw TeX is looked for.
_INSPECT = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, textarea').forEach(e => e.remove());
  const maths = [...document.querySelectorAll('.math')];
  return {
    text: clone.textContent,
    math: maths.length,
    untypeset: maths.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 80)),
    merrors: [...document.querySelectorAll('mjx-merror')].map(e => e.textContent.slice(0, 80)),
    images: [...document.images].map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0})),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  };
}"""


def _open(browser, server, path):
    """Load one page; return (the page, its context, what went wrong while loading it)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems = {"console": [], "script": [], "failed": [], "status": [], "external": []}
    page.on("console", lambda m: problems["console"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems["script"].append(str(e)))
    page.on("requestfailed", lambda r: problems["failed"].append(f"{r.url} ({r.failure})"))
    page.on("response", lambda r: problems["status"].append(f"{r.status} {r.url}") if r.status >= 400 else None)

    def only_localhost(route):
        url = route.request.url
        if url.startswith(server) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            problems["external"].append(url)
            route.abort()

    page.route("**/*", only_localhost)
    page.goto(server + path, wait_until="load")
    return page, context, problems


@pytest.fixture(scope="module")
def visits(browser, server):
    """Every page, loaded once: {path: (what went wrong, what it shows)}."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    seen = {}
    for path in PAGES:
        page, context, problems = _open(browser, server, path)
        shown = page.evaluate(_INSPECT)
        if path == "book/intro.html":
            page.screenshot(path=SHOTS / "home.png", full_page=True)
        if path == "book/04_gated_cells.html":
            page.screenshot(path=SHOTS / "chapter-04-top.png")
            page.locator("article img[src*='_images']").first.scroll_into_view_if_needed()
            page.screenshot(path=SHOTS / "chapter-04-figure.png")
            page.locator("mjx-container[display='true']").first.scroll_into_view_if_needed()
            page.screenshot(path=SHOTS / "chapter-04-equations.png")
        context.close()
        seen[path] = (problems, shown)
    return seen


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_cleanly(visits, path):
    problems, shown = visits[path]
    for kind, found in problems.items():
        assert not found, f"{path}: {kind}: {found[:5]}"
    broken = [i["src"] for i in shown["images"] if not i["ok"]]
    assert not broken, f"{path}: images that did not load: {broken}"


@pytest.mark.parametrize("path", [p for p in PAGES if p.startswith("book/")])
def test_equations_are_typeset(visits, path):
    _, shown = visits[path]
    assert not shown["untypeset"], f"{path}: equations MathJax did not typeset: {shown['untypeset'][:3]}"
    assert not shown["merrors"], f"{path}: MathJax errors: {shown['merrors'][:3]}"
    raw = re.findall(r"\$\$|\\\[|\\\(|\\begin\{|(?<![\w$])\$[^$\s][^$]*\$", shown["text"])
    assert not raw, f"{path}: raw TeX left in the page: {raw[:5]}"


def test_chapters_have_equations(visits):
    """The typesetting test above is not vacuous: the chapters and the notation page have math."""
    counts = {p: visits[p][1]["math"] for p in PAGES if re.match(r"book/(0\d_|notation)", p)}
    assert len(counts) == 7 and all(n >= 5 for n in counts.values()), counts


@functools.lru_cache(maxsize=None)
def _ids(page: Path):
    """The anchors a page defines."""
    return frozenset(re.findall(r'\s(?:id|name)="([^"]+)"', page.read_text(errors="replace")))


def test_no_broken_internal_links(visits, server, built_book):
    broken, checked = [], 0
    for path, (_, shown) in visits.items():
        for href in shown["links"]:
            if not href.startswith(server):
                continue
            url = urllib.parse.urlparse(href)
            target = urllib.parse.unquote(url.path.lstrip("/")) or "index.html"
            if target.endswith("/"):
                target += "index.html"
            checked += 1
            if not (built_book / target).is_file():
                broken.append(f"{path} -> {target}")
            elif url.fragment and target.endswith(".html") and url.fragment not in _ids(built_book / target):
                broken.append(f"{path} -> {target}#{url.fragment}")
    assert checked > 200, f"only {checked} internal links found"
    assert not broken, f"{len(broken)} broken internal links: {broken[:10]}"


def test_search_finds_forget_gate(browser, server):
    page, context, problems = _open(browser, server, "search.html?q=forget+gate")
    try:
        page.wait_for_selector("#search-results p.search-summary", timeout=30000)
        results = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(a => a.href)")
    finally:
        context.close()
    assert not problems["console"] and not problems["script"], problems
    assert any("04_gated_cells" in href for href in results), f"'forget gate' did not find chapter 4: {results}"


def _expected_launch_urls(notebook):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo, branch = config["repository"]["url"].rstrip("/"), config["repository"].get("branch", "main")
    buttons = config["launch_buttons"]
    org_repo = urllib.parse.urlparse(repo).path.strip("/")
    name = org_repo.split("/")[-1]
    ui = "lab/tree" if buttons.get("notebook_interface") == "jupyterlab" else "tree"
    return {
        "binder": f"{buttons['binderhub_url'].rstrip('/')}/v2/gh/{org_repo}/{branch}?urlpath={ui}/{notebook}",
        "colab": f"{buttons['colab_url'].rstrip('/')}/github/{org_repo}/blob/{branch}/{notebook}",
        "jupyterhub": (f"{buttons['jupyterhub_url'].rstrip('/')}/hub/user-redirect/git-pull?repo="
                       f"{urllib.parse.quote(repo, safe='')}&urlpath={ui}/{name}/{notebook}&branch={branch}"),
    }


@pytest.mark.parametrize("exercise", EXERCISES)
def test_launch_buttons(visits, exercise):
    links = visits[f"{exercise}.html"][1]["links"]
    want = _expected_launch_urls(f"{exercise}.ipynb")
    for kind, url in want.items():
        got = [href for href in links if urllib.parse.unquote(href) == urllib.parse.unquote(url)]
        assert got, f"{exercise}: no {kind} launch button with {url}; launch-like links: " \
                    f"{[h for h in links if 'binder' in h or 'colab' in h or 'git-pull' in h]}"


def test_screenshots_saved(visits):
    for name in ("home.png", "chapter-04-top.png", "chapter-04-figure.png", "chapter-04-equations.png"):
        shot = SHOTS / name
        assert shot.is_file() and shot.stat().st_size > 20000, shot
