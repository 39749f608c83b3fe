"""The notebooks stay diff-friendly and parameterizable (nbval, through pytest's --nbval-lax, executes them)."""

import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).parent.parent
NOTEBOOK_FILES = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _toc_files(entries) -> list[str]:
    files = []
    for entry in entries:
        files += [entry["file"]] if "file" in entry else []
        files += _toc_files(entry.get("sections", []) + entry.get("chapters", []))
    return files


def test_the_registry_the_folder_and_the_table_of_contents_hold_the_same_notebooks():
    """Every notebook the book runs is registered once (reproduce.book.notebooks), in the order of _toc.yml, and is a
    file of notebooks/; the report takes its numbers from registered notebooks only."""
    from reproduce.book import summary
    from reproduce.book.notebooks import BY_NAME, NOTEBOOKS

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    listed = [f.removeprefix("notebooks/") for f in [toc["root"], *_toc_files(toc["chapters"])]
              if f.startswith("notebooks/")]
    assert listed == [n.name for n in NOTEBOOKS]
    assert sorted(p.stem for p in NOTEBOOK_FILES) == sorted(BY_NAME)
    assert {item.notebook for item in summary.REPORTED} <= set(BY_NAME)
    assert all(set(n.reads) <= set(BY_NAME) for n in NOTEBOOKS)


def test_the_runner_starts_the_longest_first_and_refuses_a_name_that_is_no_notebook():
    from reproduce.book.notebooks import NOTEBOOKS, named, run_order

    assert run_order([n.name for n in NOTEBOOKS]) == ["beyond", "training", "evaluation", "branches", "intro",
                                                      "motivation", "architecture", "data", "report", "performance"]
    assert named("training.ipynb") is named("training")
    with pytest.raises(ValueError, match=r"no notebook named 'trainig'; the book's notebooks are \['intro"):
        named("trainig")


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.name)
def test_names_its_kernel_for_papermill(path):
    assert nbformat.read(path, as_version=4).metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.name)
def test_has_one_papermill_parameters_cell_first(path):
    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is code[0]


def _as_read(markdown: str) -> str:
    """A markdown cell as its page reads, near enough to find a doubled word: a value a role glues in
    ({glue:text}`seeds`) as a placeholder, a code span that names one thing (`seeds`) as that name, other code spans
    and code blocks left out."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    text = re.sub(r"\{[\w:.-]+\}`[^`]*`", "VALUE", text)
    text = re.sub(r"`([\w.]+)`", r"\1", text)
    return re.sub(r"`[^`]*`", " ", text)


def _doubled_words(markdown: str) -> list[str]:
    return [m.group(0) for m in re.finditer(r"\b(\w+)\s+\1\b", _as_read(markdown), flags=re.IGNORECASE)]


def test_the_doubled_word_check_finds_a_parameters_name_printed_as_a_word():
    assert _doubled_words("are trained with `seeds` seeds each") == ["seeds seeds"]
    assert _doubled_words("are trained with {glue:text}`seeds` seeds each (the parameter `seeds`)") == []
    assert _doubled_words("run `python -m reproduce book --params params/NAME.yml`") == []


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.name)
def test_no_sentence_prints_a_word_twice(path):
    cells = nbformat.read(path, as_version=4).cells
    assert [d for c in cells if c.cell_type == "markdown" for d in _doubled_words(c.source)] == []


#: The page metadata with which pydata-sphinx-theme (under sphinx-book-theme) leaves out a page's contents panel.
NO_CONTENTS_PANEL = "html_theme.sidebar_secondary.remove"


def _full_width(path) -> bool:
    return any("full-width" in c.metadata.get("tags", []) for c in nbformat.read(path, as_version=4).cells)


def test_table_1s_page_has_full_width_cells():
    assert _full_width(ROOT / "notebooks" / "architecture.ipynb")  # Table 1's 19 columns: the check below bites


@pytest.mark.parametrize("path", [p for p in NOTEBOOK_FILES if _full_width(p)], ids=lambda p: p.name)
def test_a_page_with_full_width_cells_has_no_contents_panel_for_them_to_run_under(path):
    """sphinx-book-theme widens a full-width cell into the right margin, where the page's contents panel (the
    secondary sidebar) sits at a laptop's window: the page leaves the panel out, in its notebook metadata, which
    myst-nb hands to the theme as the page's metadata."""
    assert nbformat.read(path, as_version=4).metadata.get(NO_CONTENTS_PANEL) is True
