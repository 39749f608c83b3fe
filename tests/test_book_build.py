"""The book builds with warnings as errors from its executed notebooks, has its chapters, figures and numbers, and
every page works in a real browser."""

import json
import re
import shutil
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import torch
import yaml
from bs4 import BeautifulSoup

from browser import check_pages, pages, screenshot_name
from reproduce.book import runner

#: The whole book executed and built, and a browser: the full tier (make test), not the unit tier (make unit).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).parent.parent
#: The screenshots of the last browser check, one per page, kept as the test's artifact (runs/ is not committed).
SCREENSHOTS = ROOT / "runs" / "screenshots"


class Built(NamedTuple):
    folder: Path  # the run folder; the HTML is in folder/_build/html
    parameters: dict[str, dict[str, Any]]
    summary: dict[str, Any]


@pytest.fixture(scope="module")
def built_book(tmp_path_factory) -> Built:
    """The book built by ``python -m reproduce book`` from the quick parameter set (the notebooks' own defaults are
    executed by nbval in ``make test``, and by ``make book``), once for the tests of this file."""
    parameters = runner.load_parameters(ROOT / "params" / "quick.yml")
    folder = tmp_path_factory.mktemp("book") / "run"
    return Built(folder, parameters, runner.run(folder, parameters))


def test_book_builds_with_warnings_as_errors(built_book):
    """Every notebook executed with its parameters and recorded; the pages have the chapters' code, numbers and
    figures."""
    source, parameters, summary = built_book
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert sorted(summary["notebooks"]) == notebooks
    for name in notebooks:  # what each executed notebook was run with, where and how long
        record = json.loads((source / "results" / name.replace(".ipynb", ".json")).read_text())
        assert record["parameters"] == parameters.get(name, {}) and record["seconds"] > 0
        assert record["torch"] == torch.__version__ and record["device"] and len(record["git_commit"]) >= 40
    html = source / "_build" / "html"
    intro = (html / "notebooks" / "intro.html").read_text()
    chapter = BeautifulSoup((html / "book" / "architecture.html").read_text(), "html.parser").get_text()
    notebook = (html / "notebooks" / "architecture.html").read_text()
    assert "Going Deeper with Convolutions" in intro
    # the front page: one row per finding any chapter recorded, each naming the network it was measured on
    recorded = sum(len(json.loads(json.loads((source / "results" / n.replace(".ipynb", ".json")).read_text())
                                  ["values"].get("findings", "[]"))) for n in notebooks)
    front = next(t for t in BeautifulSoup(intro, "html.parser").select("table") if "checked on" in t.get_text())
    assert recorded > 0 and len(front.select("tbody tr")) == recorded
    assert "not recorded" not in front.get_text() and "GoogLeNet at 1/" in front.get_text()
    assert "self.inception3a = inception(64, 96, 128, 16, 32, 32)" in chapter  # the model's code, included
    assert "6,998,552" in notebook and "13,378,280" in notebook  # glued from the executed notebook
    for page in html.rglob("*.html"):  # every role rendered, none left as literal text (or code) in a page
        text = BeautifulSoup(page.read_text(), "html.parser")
        for code in text.select("div.cell_input, div.highlight"):  # notebook code may mention the role
            code.decompose()
        for role in ("{glue", "{doc}", "{numref}", "{cite}", "{ref}"):  # a role in a cell's Markdown output stays text
            assert role not in text.get_text(), (page.name, role)
    assert notebook.count('<figure class="align-default" id="fig-') == 3
    assert "bd-sidebar-secondary" not in notebook  # Table 1's full-width cells have no contents panel to run under
    assert "bd-sidebar-secondary" in (html / "notebooks" / "training.html").read_text()  # the other pages keep it
    assert notebook.count("<img") >= 3 and "&lt;Figure size" not in notebook
    data_page = (html / "notebooks" / "data.html").read_text()
    assert data_page.count('<figure class="align-default" id="fig-') == 2 and "&lt;Figure size" not in data_page
    assert "self.aux_weight" not in data_page and "googlenet_loss" in (html / "book" / "training.html").read_text()
    training_page = (html / "notebooks" / "training.html").read_text()
    assert training_page.count('<figure class="align-default" id="fig-') == 3 and "&lt;Figure size" not in training_page
    assert 'id="fig-convergence"' in training_page and "seeds seeds" not in training_page
    assert "epoch 1/1" not in training_page  # the progress bars stay out of the book
    assert "Polyak average" in training_page and "without auxiliary heads" in training_page
    evaluation_page = (html / "notebooks" / "evaluation.html").read_text()
    assert evaluation_page.count('<figure class="align-default" id="fig-') == 4  # with the findings' intervals
    assert 'id="fig-table3-findings"' in evaluation_page
    assert "&lt;Figure size" not in evaluation_page and "paper: top-5 error %" in evaluation_page
    assert "10.07" in evaluation_page and "-3.40" in evaluation_page  # the paper's Table 3 beside this book's
    assert "paper_crops_144" in (html / "book" / "evaluation.html").read_text()
    assert "Szegedy" in (html / "book" / "references.html").read_text()
    motivation = (html / "notebooks" / "motivation.html").read_text()
    assert motivation.count('<figure class="align-default" id="fig-') == 6 and "&lt;Figure size" not in motivation
    assert "120M" in motivation and "12.4M" in motivation  # inception 3a's 5x5 branch, without and with its reduction
    def text(page):
        return BeautifulSoup((html / page).read_text(), "html.parser").get_text()

    assert "class Field" in text("book/motivation.html")  # reproduce.analysis.receptive's source, included
    branches = text("notebooks/branches.html")
    assert 'id="fig-branches"' in (html / "notebooks" / "branches.html").read_text()
    assert "the 2 members the Evaluation chapter trained, Polyak-averaged weights (reloaded from" in branches  # not trained again
    assert "At this scale the data" in branches and "Table 1" in branches
    order = list(summary["notebooks"])  # in the order they finished
    assert order.index("evaluation.ipynb") < order.index("branches.ipynb")
    beyond = (html / "notebooks" / "beyond.html").read_text()
    assert 'id="fig-ablation"' in beyond and 'id="tbl-ablation"' in beyond and "&lt;Figure size" not in beyond
    assert "+ BN-auxiliary" in beyond and "def inception_v3_ablation" in text("book/beyond.html")
    performance = (html / "notebooks" / "performance.html").read_text()
    assert 'id="fig-performance"' in performance and 'id="fig-training-profile"' in performance
    assert "Measured on " in text("notebooks/performance.html") and "pays back after" in performance


def test_the_report_shows_the_numbers_of_this_run(built_book):
    """The reproduction report ran after the other notebooks and shows what they glued, as their results record."""
    source, _, summary = built_book
    assert list(summary["notebooks"])[-1] == "report.ipynb"  # run last, from the others' results
    results = runner.read_results(source / "results")
    training = results["training"]["values"]
    assert "% (95% CI " in training["test_top1"] and results["evaluation"]["values"]["base_error"]
    page = BeautifulSoup((source / "_build" / "html" / "notebooks" / "report.html").read_text(),
                         "html.parser").get_text(" ")
    assert training["test_top1"] in page and results["evaluation"]["values"]["both_change"] in page
    assert "train_images=512, eval_images=64, seeds=2" in page  # what the training chapter was executed with
    assert "5 of 8" in page and "imagenet-gpu.yml" in page and "cifar100-gpu.yml" in page
    assert results["training"]["git_commit"][:12] in page  # "These numbers come from the run of commit ..."


def _toc_pages(node) -> set[str]:
    """The HTML page of every file a jupyter-book ``_toc.yml`` names (root, chapters, sections)."""
    if isinstance(node, list):
        return set().union(*map(_toc_pages, node))
    if not isinstance(node, dict):
        return set()
    return {node[key] + ".html" for key in ("root", "file") if key in node} | _toc_pages(list(node.values()))


def test_every_page_in_chromium(built_book):
    """Every page of the table of contents opened in headless Chromium with the network closed: it loads, its images
    load, its internal links resolve, its math is rendered (MathJax ships with the book); screenshots in
    runs/screenshots."""
    html = built_book.folder / "_build" / "html"
    checked = {p.relative_to(html).as_posix() for p in pages(html)}
    assert checked == _toc_pages(yaml.safe_load((built_book.folder / "_toc.yml").read_text()))
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    problems = check_pages(html, SCREENSHOTS)
    assert not problems, f"{len(problems)} problems in the browser:\n" + "\n".join(problems)
    assert {p.name for p in SCREENSHOTS.glob("*.png")} == {screenshot_name(p) for p in checked}
    assert any('class="math' in p.read_text() for p in pages(html)), "no page has math: the math check checks nothing"


def test_the_browser_check_finds_what_is_broken(tmp_path):
    """A page with a missing image, an image from outside (the network is closed), a link to a missing page and one
    to a missing anchor, math that no MathJax renders and a table wider than its column: each is reported, and what
    works is not."""
    html = tmp_path / "html"
    html.mkdir()
    (html / "dot.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><circle r="4"/></svg>')
    (html / "page.html").write_text("""<!DOCTYPE html><html><body><h1 id="top">A page</h1>
        <img src="dot.svg"> <img src="missing.png"> <img src="https://example.org/far.png">
        <a href="#top">here</a> <a href="page.html#top">here too</a> <a href="https://example.org/">outside</a>
        <a href="gone.html">a missing page</a> <a href="page.html#nowhere">a missing anchor</a>
        <p>The cost <span class="math notranslate nohighlight">\\(k^2 C\\)</span> and $$y = x$$.</p>
        <pre>print("$$ in code is code")</pre>
        <article style="width: 600px"><div class="cell_output"><table><tr><td style="min-width: 900px">wide</td></tr>
        </table></div><div class="cell_output"><table><tr><td>narrow</td></tr></table></div></article></body></html>""")
    problems = [re.sub(r"http://127\.0\.0\.1:\d+/", "/", p) for p in check_pages(html, tmp_path / "shots")]
    assert sorted(problems) == sorted([
        "page.html: HTTP 404: /missing.png",
        "page.html: image did not load: missing.png",
        "page.html: image did not load: https://example.org/far.png",
        "page.html: needs the network: https://example.org/far.png (a reader offline does not get it)",
        "page.html: broken link /gone.html: no file gone.html",
        "page.html: broken link /page.html#nowhere: no element with id 'nowhere' on page.html",
        "page.html: math not rendered: \\(k^2 C\\)",
        "page.html: raw TeX in the text: and $$y = x$$.",
        "page.html: table wider than its column at a 1280 px window: wide",
    ])
    assert (tmp_path / "shots" / "page.png").stat().st_size > 0
