"""Every notebook has a text form, notebooks/text/<name>.py (jupytext's py:percent), so that a review reads a
notebook's change as code and prose; the two must say the same (`make pair`, which is `jupytext --sync`, brings
each pair up to date from whichever of the two was edited last)."""

from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_the_text_form_says_what_the_notebook_says(notebook):
    text = notebook.parent / "text" / f"{notebook.stem}.py"
    assert text.is_file(), f"{text} is missing: run `make pair`"
    paired = jupytext.read(notebook)
    assert paired.metadata["jupytext"]["formats"] == "ipynb,text//py:percent"
    assert jupytext.writes(paired, fmt="py:percent") == text.read_text(), (
        f"{text.name} and {notebook.name} differ: run `make pair` (or `jupytext --sync {notebook}`)")


def test_a_changed_notebook_is_caught(tmp_path):
    notebook = jupytext.read(NOTEBOOKS[0])
    notebook.cells[0].source += "\nA sentence added to the notebook only."
    assert jupytext.writes(notebook, fmt="py:percent") != (NOTEBOOKS[0].parent / "text" /
                                                           f"{NOTEBOOKS[0].stem}.py").read_text()
