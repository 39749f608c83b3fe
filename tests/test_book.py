"""The book builds with warnings as errors (executing its notebooks) and has its chapters, figures and numbers."""

import shutil
import subprocess
import sys
from pathlib import Path

from bs4 import BeautifulSoup

ROOT = Path(__file__).parent.parent


def test_book_builds_with_warnings_as_errors(tmp_path):
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", "_build", ".git", ".pytest_cache",
                                                                  "__pycache__", "*.egg-info"))
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
    assert "Szegedy" in (html / "book" / "references.html").read_text()
