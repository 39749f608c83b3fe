"""The book runner's order: a notebook waits only for the notebooks whose output it reads, and on a machine with
GPUs the notebooks that use the device never share one."""

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from reproduce import book

ROOT = Path(__file__).parent.parent
LOG = "RUNNER_TEST_LOG"


def test_the_branch_attribution_waits_for_the_ensemble_only_when_it_reloads_it():
    assert book.waits_for("branches", {"ensemble_dir": "../checkpoints/ensemble"}) == ("evaluation",)
    assert book.waits_for("branches", {"ensemble_dir": "../c", "torchvision_weights": "~/w.pth"}) == ()
    assert book.waits_for("branches", {"torchvision_weights": "~/w.pth"}) == ()
    assert book.waits_for("branches", {}) == ()
    assert book.waits_for("training", {"epochs": 1}) == ()


def _pretend_to_execute(notebook: Path, parameters: dict) -> float:
    """Stands in for papermill: records when each notebook ran (in the file named by $RUNNER_TEST_LOG)."""
    started = time.time()
    time.sleep(0.4)
    with open(os.environ[LOG], "a") as log:
        log.write(json.dumps({"notebook": notebook.stem, "start": started, "end": time.time()}) + "\n")
    return time.time() - started


def _overlap(a: dict, b: dict) -> bool:
    return a["start"] < b["end"] and b["start"] < a["end"]


@pytest.mark.parametrize("gpus", [1, None])
def test_device_notebooks_run_one_at_a_time_and_the_others_beside_them(tmp_path, monkeypatch, gpus):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    names = ["training", "evaluation", "beyond", "motivation", "architecture"]
    for name in names:
        shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", folder)
    monkeypatch.setattr(book, "_execute", _pretend_to_execute)
    monkeypatch.setattr(book, "_device_slots", lambda: gpus)
    monkeypatch.setenv(LOG, str(tmp_path / "log.jsonl"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    notebooks, parameters = [folder / f"{n}.ipynb" for n in names], {"beyond.ipynb": {"device": "auto"}}
    book._stage(notebooks, parameters, 3, {}, book.cache_keys(notebooks, parameters))
    runs = {r["notebook"]: r for r in map(json.loads, (tmp_path / "log.jsonl").read_text().splitlines())}
    assert set(runs) == set(names)
    device = ["training", "evaluation", "beyond"]
    shared = [(a, b) for i, a in enumerate(device) for b in device[i + 1:] if _overlap(runs[a], runs[b])]
    if gpus == 1:
        assert shared == []  # one GPU: one device notebook at a time
        assert any(_overlap(runs[n], runs[d]) for n in ("motivation", "architecture") for d in device)
    else:
        assert shared  # no GPU: they share the CPU's cores as before


def test_a_notebook_on_the_cpu_does_not_take_the_gpu():
    notebook = ROOT / "notebooks" / "training.ipynb"
    assert book.uses_device(notebook, {}) and book.uses_device(notebook, {"device": "cuda"})
    assert not book.uses_device(notebook, {"device": "cpu"})
    assert not book.uses_device(ROOT / "notebooks" / "architecture.ipynb", {})


def test_executions_are_cached_by_source_parameters_package_and_what_they_read(tmp_path, monkeypatch):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    names = ["evaluation", "branches", "motivation"]
    for name in names:
        shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", folder)
    log = tmp_path / "log.jsonl"
    monkeypatch.setattr(book, "_execute", _pretend_to_execute)
    monkeypatch.setattr(book, "_device_slots", lambda: None)
    monkeypatch.setenv(LOG, str(log))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    parameters = {"branches.ipynb": {"ensemble_dir": "../checkpoints/ensemble"}}  # branches reads evaluation's runs

    def executed(params=parameters):
        log.write_text("")
        notebooks = [folder / f"{n}.ipynb" for n in names]
        seconds = book._stage(notebooks, params, 2, {}, book.cache_keys(notebooks, params))
        assert set(seconds) == {f"{n}.ipynb" for n in names}
        records = book.read_results(tmp_path / "results")
        assert set(records) == set(names)  # every notebook's results are there, executed or restored
        return {json.loads(line)["notebook"] for line in log.read_text().splitlines()}

    assert executed() == set(names)
    assert executed() == set()  # nothing changed: everything restored
    assert book.read_results(tmp_path / "results")["motivation"]["cached"] is True
    evaluation = folder / "evaluation.ipynb"
    evaluation.write_text(evaluation.read_text().replace("Table 3", "Table 3 of the paper", 1))
    assert executed() == {"evaluation", "branches"}  # it, and the notebook that reads its runs
    assert executed({**parameters, "motivation.ipynb": {"book_width": 0.5}}) == {"motivation"}  # other parameters
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert executed() == set(names)  # other threads: other numbers
    monkeypatch.setattr(book, "package_digest", lambda: "another package")
    assert executed() == set(names)


def test_the_report_reads_every_other_notebook():
    stems = {"training", "evaluation", "report", "branches"}
    assert book.inputs_of("report", {}, stems) == ("branches", "evaluation", "training")
    assert book.inputs_of("branches", {"ensemble_dir": "../e"}, stems) == ("evaluation",)
    assert book.inputs_of("training", {}, stems) == ()
