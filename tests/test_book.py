"""The book builds with warnings as errors from its executed notebooks and has its chapters, figures and numbers."""

import json
from pathlib import Path

import pytest
import torch
from bs4 import BeautifulSoup

from reproduce import book

ROOT = Path(__file__).parent.parent


def test_book_builds_with_warnings_as_errors(tmp_path):
    """The book built by ``python -m reproduce book`` from the quick parameter set (the notebooks' own defaults are
    executed by nbval in ``make test``, and by ``make book``)."""
    parameters = book.load_parameters(ROOT / "params" / "quick.yml")
    source = tmp_path / "run"
    summary = book.run(source, parameters)
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert sorted(summary["notebooks"]) == notebooks
    for name in notebooks:  # what each executed notebook was run with, where and how long
        record = json.loads((source / "results" / name.replace(".ipynb", ".json")).read_text())
        assert record["parameters"] == parameters.get(name, {}) and record["seconds"] > 0
        assert record["torch"] == torch.__version__ and record["device"] and len(record["git_commit"]) >= 40
    html = source / "_build" / "html"
    intro = (html / "book" / "intro.html").read_text()
    chapter = BeautifulSoup((html / "book" / "architecture.html").read_text(), "html.parser").get_text()
    notebook = (html / "notebooks" / "architecture.html").read_text()
    assert "Going Deeper with Convolutions" in intro
    assert "self.inception3a = inception(64, 96, 128, 16, 32, 32)" in chapter  # the model's code, included
    assert "6,998,552" in notebook and "13,378,280" in notebook  # glued from the executed notebook
    assert notebook.count('<figure class="align-default" id="fig-') == 3
    assert notebook.count("<img") >= 3 and "&lt;Figure size" not in notebook
    data_page = (html / "notebooks" / "data.html").read_text()
    assert data_page.count('<figure class="align-default" id="fig-') == 2 and "&lt;Figure size" not in data_page
    assert "self.aux_weight" not in data_page and "googlenet_loss" in (html / "book" / "training.html").read_text()
    training_page = (html / "notebooks" / "training.html").read_text()
    assert training_page.count('<figure class="align-default" id="fig-') == 2 and "&lt;Figure size" not in training_page
    assert "epoch 1/1" not in training_page  # the progress bars stay out of the book
    assert "Polyak average" in training_page and "without auxiliary heads" in training_page
    evaluation_page = (html / "notebooks" / "evaluation.html").read_text()
    assert evaluation_page.count('<figure class="align-default" id="fig-') == 3
    assert "&lt;Figure size" not in evaluation_page and "paper: top-5 error %" in evaluation_page
    assert "10.07" in evaluation_page and "-3.40" in evaluation_page  # the paper's Table 3 beside this book's
    assert "paper_crops_144" in (html / "book" / "evaluation.html").read_text()
    assert "Szegedy" in (html / "book" / "references.html").read_text()


def test_a_parameter_set_names_existing_notebooks(tmp_path):
    assert book.load_parameters(ROOT / "params" / "cpu.yml") == {}
    bad = tmp_path / "bad.yml"
    bad.write_text("trainig.ipynb: {epochs: 1}\n")
    with pytest.raises(ValueError, match="trainig.ipynb"):
        book.load_parameters(bad)
    bad.write_text("training.ipynb: 3\n")
    with pytest.raises(ValueError, match="mappings"):
        book.load_parameters(bad)
