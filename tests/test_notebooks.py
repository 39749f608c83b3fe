"""The notebooks stay diff-friendly and parameterizable (nbval, through pytest's --nbval-lax, executes them)."""

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
    """Every notebook the book runs is registered once (reproduce.notebooks), in the order of _toc.yml, and is a
    file of notebooks/; the report takes its numbers from registered notebooks only."""
    from reproduce import summary
    from reproduce.notebooks import BY_NAME, NOTEBOOKS

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    listed = [f.removeprefix("notebooks/") for f in _toc_files(toc["chapters"]) if f.startswith("notebooks/")]
    assert listed == [n.name for n in NOTEBOOKS]
    assert sorted(p.stem for p in NOTEBOOK_FILES) == sorted(BY_NAME)
    assert {item.notebook for item in summary.REPORTED} <= set(BY_NAME)
    assert all(set(n.reads) <= set(BY_NAME) for n in NOTEBOOKS)


def test_the_runner_starts_the_longest_first_and_refuses_a_name_that_is_no_notebook():
    from reproduce.notebooks import NOTEBOOKS, named, run_order

    assert run_order([n.name for n in NOTEBOOKS]) == ["beyond", "training", "evaluation", "branches", "motivation",
                                                      "architecture", "data", "report", "performance"]
    assert named("training.ipynb") is named("training")
    with pytest.raises(ValueError, match=r"no notebook named 'trainig'; the book's notebooks are \['motivation"):
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
