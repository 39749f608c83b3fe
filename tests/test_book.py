"""The book builds with warnings as errors from its executed notebooks and has its chapters, figures and numbers."""

import shutil
import subprocess
import sys
from pathlib import Path

from bs4 import BeautifulSoup

ROOT = Path(__file__).parent.parent


#: Parameters that make each notebook quick; the notebooks' own defaults are executed by nbval (``make test``) and
#: by ``make book``. Here the book is built from notebooks that papermill executed with these.
QUICK = {"training.ipynb": {"epochs": 1, "comparison_epochs": 1},
         "evaluation.ipynb": {"members": 2, "shared_epochs": 0, "epochs": 1, "test_images": 16}}


def test_book_builds_with_warnings_as_errors(tmp_path):
    import papermill
    import yaml

    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", "_build", ".git", ".pytest_cache",
                                                                  "__pycache__", "*.egg-info"))
    for notebook in sorted((source / "notebooks").glob("*.ipynb")):
        papermill.execute_notebook(notebook, notebook, parameters=QUICK.get(notebook.name, {}),
                                   cwd=notebook.parent, progress_bar=False)
    config = yaml.safe_load((source / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    (source / "_config.yml").write_text(yaml.safe_dump(config))
    result = subprocess.run([str(jupyter_book), "build", str(source), "--warningiserror", "--nitpick"],
                            capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
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
