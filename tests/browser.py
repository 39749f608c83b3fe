"""The built book as a reader sees it: every page opened in headless Chromium and checked.

``check_pages(html_dir, screenshots_dir)`` serves the HTML over http on localhost, opens each page in Debian's
Chromium (``/usr/bin/chromium``, which ``make browser`` installs; Playwright drives it, and never downloads a browser
of its own), and returns what a reader would find broken: a page that does not load, an image that did not load, a
request to the book that failed, an internal link to a missing file or anchor, math that MathJax did not render, a
table wider than its column at a 1280 px window (whose last columns a reader would not see).
Requests to anywhere else are blocked, as on a machine without a network, so a page that needs the internet to
display fails here. It keeps a full-page screenshot of every page.
"""

from __future__ import annotations

import functools
import threading
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup
from playwright.sync_api import BrowserContext, Request, Response, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
#: Without the background-networking flags Chromium's own connections are refused on a closed network; Playwright
#: adds --headless and a fresh --user-data-dir of its own.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
#: Sphinx's pages outside the book's table of contents: the redirect to the first chapter, the index (this book has
#: no index entries, so it is a heading alone) and the search form (filled in by JavaScript from a query). Links to
#: them are still checked.
NOT_CHAPTERS = {"index.html", "genindex.html", "search.html"}

#: What the page shows once loaded: images that did not load, internal link targets, math MathJax left as TeX.
INSPECT = r"""() => {
    const short = text => text.replace(/\s+/g, " ").trim().slice(0, 80);
    const visible = node => !node.parentElement.closest("pre, code, script, style, .math, mjx-container");
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const raw = [];
    while (walker.nextNode()) {
        const text = walker.currentNode.textContent;
        if (visible(walker.currentNode) && /\\\(|\\\[|\$\$/.test(text)) raw.push(short(text));
    }
    return {
        images: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute("src")),
        links: [...document.querySelectorAll("a[href]")].map(a => a.href),
        unrendered: [...document.querySelectorAll(".math")].filter(m => !m.querySelector("mjx-container"))
            .map(m => short(m.textContent)),
        raw,
        // a table wider than the column it sits in (a notebook's output or a figure; a full-width cell's is wider
        // than the text): its last columns would be cut off or hidden behind a sideways scroll
        wide: [...document.querySelectorAll("article table")].filter(table => {
            const box = table.closest(".cell_output, figure") || table.closest("article");
            return table.getBoundingClientRect().right > box.getBoundingClientRect().right + 1;
        }).map(table => short(table.innerText)),
    };
}"""
#: The window every page is checked at: a laptop's, where a wide table must still be readable.
WINDOW = {"width": 1280, "height": 800}


def pages(html_dir: Path) -> list[Path]:
    """The book's pages: every HTML file but the theme's templates in ``_static`` and Sphinx's own pages."""
    names = (p.relative_to(html_dir) for p in html_dir.rglob("*.html"))
    return sorted(html_dir / n for n in names if n.parts[0] != "_static" and n.as_posix() not in NOT_CHAPTERS)


def screenshot_name(page: str) -> str:
    """The file of a page's screenshot, after its path in the book: ``notebooks/training.html`` ->
    ``notebooks-training.png``."""
    return page.removesuffix(".html").replace("/", "-") + ".png"


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """``folder`` served over http on a free port of localhost, for as long as the block runs; yields the base URL."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _anchors(page: Path) -> frozenset[str]:
    """The ids (and old-style ``<a name>``) a link's ``#fragment`` can point to in an HTML file."""
    soup = BeautifulSoup(page.read_text(), "html.parser")
    named = soup.find_all("a", attrs={"name": True})
    return frozenset([t["id"] for t in soup.find_all(id=True)] + [t["name"] for t in named])


def _broken_link(url: str, base: str, html_dir: Path, anchors: Callable[[Path], frozenset[str]]) -> str | None:
    """Why an internal link ``url`` does not resolve (a missing file, or no element with its fragment's id among
    ``anchors(target)``), or None if it does."""
    parts = urlsplit(url)
    path = unquote(parts.path.removeprefix(urlsplit(base).path))
    target = html_dir / (path + "index.html" if path.endswith("/") or not path else path)
    if not target.is_file():
        return f"broken link {url}: no file {target.relative_to(html_dir)}"
    fragment = unquote(parts.fragment)
    if fragment and target.suffix == ".html" and fragment not in anchors(target):
        return f"broken link {url}: no element with id {fragment!r} on {target.relative_to(html_dir)}"
    return None


def check_pages(html_dir: str | Path, screenshots_dir: str | Path) -> list[str]:
    """Open every page of the book in ``html_dir`` (see :func:`pages`) in headless Chromium, keep a full-page
    screenshot of each in ``screenshots_dir`` (see :func:`screenshot_name`), and return the problems found, each as
    ``"page: what"``; an empty list is a book without them."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    html_dir, screenshots_dir = Path(html_dir).resolve(), Path(screenshots_dir)
    screenshots_dir.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    anchors = functools.cache(_anchors)  # each page's anchors parsed once per check, as many pages link to it
    with serve(html_dir) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(viewport=WINDOW)
        context.route(lambda url: not url.startswith(base), lambda route: route.abort())  # no network
        for page_file in pages(html_dir):
            name = page_file.relative_to(html_dir).as_posix()
            problems += [f"{name}: {p}" for p in _check_page(context, base, name, html_dir, anchors, screenshots_dir)]
        browser.close()
    return problems


def _check_page(context: BrowserContext, base: str, name: str, html_dir: Path,
                anchors: Callable[[Path], frozenset[str]], screenshots_dir: Path) -> list[str]:
    """The problems of one page (see :func:`check_pages`), its screenshot taken."""
    page = context.new_page()
    problems: list[str] = []

    def failed(request: Request) -> None:
        problems.append(f"request failed: {request.url} ({request.failure})" if request.url.startswith(base)
                        else f"needs the network: {request.url} (a reader offline does not get it)")

    def answered(response: Response) -> None:
        if response.status >= 400:
            problems.append(f"HTTP {response.status}: {response.url}")

    page.on("requestfailed", failed)
    page.on("response", answered)
    response = page.goto(base + name, wait_until="load")
    if response is None or response.status != 200:
        problems.append(f"did not load (HTTP {response and response.status})")
    page.evaluate("async () => { if (window.MathJax?.startup?.promise) await window.MathJax.startup.promise; }")
    page.wait_for_load_state("networkidle")  # the fonts MathJax asks for after typesetting
    seen = page.evaluate(INSPECT)
    problems += [f"image did not load: {src}" for src in seen["images"]]
    problems += [f"math not rendered: {text}" for text in seen["unrendered"]]
    problems += [f"raw TeX in the text: {text}" for text in seen["raw"]]
    problems += [f"table wider than its column at a {WINDOW['width']} px window: {text}" for text in seen["wide"]]
    problems += filter(None, (_broken_link(url, base, html_dir, anchors) for url in dict.fromkeys(seen["links"])
                              if url.startswith(base)))
    page.screenshot(path=screenshots_dir / screenshot_name(name), full_page=True)
    page.close()
    return problems
