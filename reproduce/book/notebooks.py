"""The book's notebooks, registered once, in the order of its table of contents: what each is called, how long it
runs compared with the others, and whose output it reads. The runner (:mod:`reproduce.book`) orders and waits by
it, the parameter sets (``params/*.yml``) are checked against it, the reproduction report
(:mod:`reproduce.book.summary`)
orders its chapters by it, and a test checks that ``_toc.yml`` and ``notebooks/`` hold exactly these notebooks.
Adding a chapter: its notebook in ``notebooks/``, a line here, a line in ``_toc.yml`` (the first, ``intro``, is
its root)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FOLDER = Path(__file__).resolve().parents[2] / "notebooks"


@dataclass(frozen=True)
class Notebook:
    name: str  # the file's stem in notebooks/
    #: Where it starts among the notebooks that take longest (0: first), so that the short ones fill in beside them;
    #: None: after those, in table-of-contents order.
    start: int | None = None
    #: The notebooks whose output it may read from the run folder: it waits for them (when it reads them:
    #: :func:`reproduce.book.runner.waits_for`).
    reads: tuple[str, ...] = ()
    #: Whether it reads every other notebook's results: it runs after all of them.
    last: bool = False

    @property
    def file(self) -> str:
        return f"{self.name}.ipynb"


#: Beyond v1 and the Training chapter start together: the runs they share (the Training chapter's GoogLeNet seeds are
#: Beyond's "+ batch norm" row) come early in the Training chapter and after Beyond's first row, so neither waits on
#: the other; the Evaluation chapter, which reuses the same runs as its first members, follows. The branch attribution
#: reloads the ensemble the Evaluation chapter trained when its ``ensemble_dir`` is set.
NOTEBOOKS: tuple[Notebook, ...] = (
    Notebook("intro", last=True),  # the front page: what the build found, from every chapter's results
    Notebook("motivation"),
    Notebook("architecture"),
    Notebook("data"),
    Notebook("training", start=1),
    Notebook("evaluation", start=2),
    Notebook("branches", start=3, reads=("evaluation",)),
    Notebook("beyond", start=0),
    Notebook("report", last=True),
    Notebook("performance"),
)
BY_NAME = {notebook.name: notebook for notebook in NOTEBOOKS}


def named(name: str) -> Notebook:
    """The notebook ``name`` (a stem, ``"training"``, or a file name, ``"training.ipynb"``); a name that is not a
    notebook of the book is refused, listing those that are."""
    stem = name.removesuffix(".ipynb")
    if stem not in BY_NAME:
        raise ValueError(f"no notebook named {name!r}; the book's notebooks are {[n.file for n in NOTEBOOKS]}")
    return BY_NAME[stem]


def run_order(stems: list[str]) -> list[str]:
    """``stems`` in the order the runner starts them: the longest first (by ``start``), then the others in
    table-of-contents order."""
    position = {notebook.name: i for i, notebook in enumerate(NOTEBOOKS)}
    return sorted(stems, key=lambda s: (BY_NAME[s].start is None, BY_NAME[s].start or 0, position[s]))
