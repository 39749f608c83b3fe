"""The book runner's order: a notebook waits only for the notebooks whose output it reads, and on a machine with
GPUs the notebooks that use the device never share one."""

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from reproduce.book import runner

ROOT = Path(__file__).parent.parent
LOG = "RUNNER_TEST_LOG"


def test_the_branch_attribution_waits_for_the_ensemble_only_when_it_reloads_it():
    assert runner.waits_for("branches", {"ensemble_dir": "../checkpoints/ensemble"}) == ("evaluation",)
    assert runner.waits_for("branches", {"ensemble_dir": "../c", "torchvision_weights": "~/w.pth"}) == ()
    assert runner.waits_for("branches", {"torchvision_weights": "~/w.pth"}) == ()
    assert runner.waits_for("branches", {}) == ()
    assert runner.waits_for("training", {"epochs": 1}) == ()


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
    monkeypatch.setattr(runner, "_execute", _pretend_to_execute)
    monkeypatch.setattr(runner, "_device_slots", lambda: gpus)
    monkeypatch.setenv(LOG, str(tmp_path / "log.jsonl"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    notebooks, parameters = [folder / f"{n}.ipynb" for n in names], {"beyond.ipynb": {"device": "auto"}}
    runner._stage(notebooks, parameters, 3, {}, runner.cache_keys(notebooks, parameters))
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
    assert runner.uses_device(notebook, {}) and runner.uses_device(notebook, {"config": {"device": "cuda"}})
    assert not runner.uses_device(notebook, {"config": {"device": "cpu"}})
    assert not runner.uses_device(ROOT / "notebooks" / "architecture.ipynb", {})


def _copies(tmp_path: Path, monkeypatch, names: list[str], execute) -> tuple[Path, Path]:
    """The notebooks ``names`` copied into ``tmp_path/notebooks``, executed by ``execute`` (which logs each run into
    the file it returns), one thread each, no GPU."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for name in names:
        shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", folder)
    log = tmp_path / "log.jsonl"
    monkeypatch.setattr(runner, "_execute", execute)
    monkeypatch.setattr(runner, "_device_slots", lambda: None)
    monkeypatch.setenv(LOG, str(log))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return folder, log


def test_executions_are_cached_by_source_parameters_package_and_what_they_read(tmp_path, monkeypatch):
    names = ["evaluation", "branches", "motivation"]
    folder, log = _copies(tmp_path, monkeypatch, names, _pretend_to_execute)
    parameters = {"branches.ipynb": {"ensemble_dir": "../checkpoints/ensemble"}}  # branches reads evaluation's runs

    def executed(params=parameters):
        log.write_text("")
        notebooks = [folder / f"{n}.ipynb" for n in names]
        seconds = runner._stage(notebooks, params, 2, {}, runner.cache_keys(notebooks, params))
        assert set(seconds) == {f"{n}.ipynb" for n in names}
        records = runner.read_results(tmp_path / "results")
        assert set(records) == set(names)  # every notebook's results are there, executed or restored
        return {json.loads(line)["notebook"] for line in log.read_text().splitlines()}

    assert executed() == set(names)
    assert executed() == set()  # nothing changed: everything restored
    assert runner.read_results(tmp_path / "results")["motivation"]["cached"] is True
    evaluation = folder / "evaluation.ipynb"
    evaluation.write_text(evaluation.read_text().replace("Table 3", "Table 3 of the paper", 1))
    assert executed() == {"evaluation", "branches"}  # it, and the notebook that reads its runs
    assert executed({**parameters, "motivation.ipynb": {"book_width": 0.5}}) == {"motivation"}  # other parameters
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert executed() == set(names)  # other threads: other numbers
    monkeypatch.setattr(runner, "package_digest", lambda: "another package")
    assert executed() == set(names)


def test_the_report_reads_every_other_notebook():
    stems = {"training", "evaluation", "report", "branches"}
    assert runner.inputs_of("report", {}, stems) == ("branches", "evaluation", "training")
    assert runner.inputs_of("branches", {"ensemble_dir": "../e"}, stems) == ("evaluation",)
    assert runner.inputs_of("training", {}, stems) == ()


def _fail_evaluation(notebook: Path, parameters: dict) -> float:
    """As :func:`_pretend_to_execute`, but the Evaluation chapter fails (as papermill's failure reaches the runner)."""
    if notebook.stem == "evaluation" and not os.environ.get("FIXED"):
        with open(os.environ[LOG], "a") as log:
            log.write(json.dumps({"notebook": notebook.stem, "start": 0, "end": 0}) + "\n")
        raise runner.NotebookFailedError("cell 7 (execution count 5) raised ValueError: boom")
    return _pretend_to_execute(notebook, parameters)


def test_a_failing_notebook_keeps_the_others_and_a_rerun_executes_only_it_and_its_readers(tmp_path, monkeypatch):
    names = ["evaluation", "branches", "motivation", "architecture"]
    folder, log = _copies(tmp_path, monkeypatch, names, _fail_evaluation)
    parameters = {"branches.ipynb": {"ensemble_dir": "../checkpoints/ensemble"}}  # branches reads evaluation's runs
    notebooks = [folder / f"{n}.ipynb" for n in names]

    def executed():
        log.write_text("")
        try:
            runner._stage(notebooks, parameters, 2, {}, runner.cache_keys(notebooks, parameters))
        finally:
            ran = {json.loads(line)["notebook"] for line in log.read_text().splitlines()}
        return ran

    with pytest.raises(runner.NotebookFailedError) as failure:
        executed()
    message = str(failure.value)
    kept = tmp_path / runner.FAILED / "evaluation.ipynb"
    assert (f"evaluation.ipynb: cell 7 (execution count 5) raised ValueError: boom; the executed notebook with the "
            f"error is {kept}") in message
    assert "branches.ipynb: not run: it reads the results of evaluation.ipynb" in message
    assert "run the same command again" in message and kept.is_file()
    assert set(runner.read_results(tmp_path / "results")) == {"motivation", "architecture"}  # the others' results
    log.write_text("")
    with pytest.raises(runner.NotebookFailedError):  # not fixed yet: the same failure, and nothing else re-executed
        executed()
    assert {json.loads(line)["notebook"] for line in log.read_text().splitlines()} == {"evaluation"}
    monkeypatch.setenv("FIXED", "1")
    assert executed() == {"evaluation", "branches"}  # fixed: what failed and what reads it, nothing else
    assert set(runner.read_results(tmp_path / "results")) == set(names)


def test_papermills_failure_names_the_cell_and_the_exception(tmp_path):
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"),
                                               nbformat.v4.new_code_cell("raise ValueError(f'bad value {x}')")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "broken.ipynb"
    nbformat.write(notebook, path)
    with pytest.raises(runner.NotebookFailedError, match=r"cell 1 \(execution count 2\) raised ValueError: bad value 1"):
        runner._execute(path, {})
    executed = nbformat.read(path, as_version=4)  # the executed copy, with the error in its cell
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "error"]
    assert [(o["ename"], o["evalue"]) for o in errors] == [("ValueError", "bad value 1")]


def test_an_executed_notebook_leaves_no_kernel_warnings_on_the_runners_output(tmp_path, capfd):
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "quiet.ipynb"
    nbformat.write(notebook, path)
    runner._execute(path, {})
    out, err = capfd.readouterr()
    assert "without encryption" not in out + err and "WARNING" not in out + err


def test_progress_estimates_what_is_left_from_the_last_executions(tmp_path, monkeypatch):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    notebooks = [folder / f"{name}.ipynb" for name in ("a", "b", "c")]
    for notebook, seconds in zip(notebooks[:2], (600.0, 120.0)):  # c never ran here
        kept = tmp_path / runner.CACHE / f"{notebook.stem}-oldkey"
        kept.mkdir(parents=True)
        (kept / "results.json").write_text(json.dumps({"seconds": seconds}))
    assert runner.last_seconds(notebooks) == {"a.ipynb": 600.0, "b.ipynb": 120.0}
    now = [1000.0]
    monkeypatch.setattr(runner.time, "perf_counter", lambda: now[0])
    progress = runner.Progress(notebooks, jobs=2)
    progress.start(notebooks[0])
    now[0] += 180  # a has run 3 of its last 10 minutes; b waits
    assert progress.left([notebooks[1]], [notebooks[0]]) == pytest.approx((420 + 120) / 2)
    assert progress.line([notebooks[1]], [notebooks[0]]) == \
        "3.0 min elapsed, about 4.5 min left; running: a.ipynb (3.0 min)"
    now[0] += 600  # past its last time: nothing left of it, b alone on one of the two workers
    assert progress.left([notebooks[1]], [notebooks[0]]) == pytest.approx(120 / 2)
    assert progress.left([notebooks[2]], []) is None
    assert "time left unknown" in progress.line([notebooks[2]], [])
