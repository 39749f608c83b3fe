"""Every parameter set in params/ names existing notebooks and their parameters; a wrong name is refused by name."""

from pathlib import Path

import pytest

from reproduce.book import runner
from reproduce.training import BOOK_CONFIG, book_config

ROOT = Path(__file__).parent.parent
SETS = sorted((ROOT / "params").glob("*.yml"))


def test_the_parameter_sets():
    assert [p.name for p in SETS] == ["cifar100-gpu.yml", "cpu.yml", "imagenet-gpu.yml", "quick.yml"]


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_a_parameter_set_names_notebooks_and_their_parameters(path):
    runner.load_parameters(path)  # raises on any unknown notebook or parameter


@pytest.mark.parametrize("line, message", [
    ("architecture.ipynb: {width: wide}",
     "architecture.ipynb: width='wide' is not a number \\(the default is 1.0\\)"),
    ("training.ipynb: {seeds: '3'}", "training.ipynb: seeds='3' is not an integer"),
    ("evaluation.ipynb: {members: 2.5}", "evaluation.ipynb: members=2.5 is not an integer"),
    ("training.ipynb: {seeds: null}", "training.ipynb: seeds=None is not an integer"),
    ("training.ipynb: {sgd_lrs: 0.1}", "training.ipynb: sgd_lrs=0.1 is not a list"),
    ("training.ipynb: {config: [width, 1.0]}", "training.ipynb: config=\\['width', 1.0\\] is not a mapping"),
    ("training.ipynb: {config: {flip: 1}}", "training.ipynb: config: flip=1 is not true or false"),
    ("training.ipynb: {config: {train_images: many}}",
     "training.ipynb: config: train_images='many' is not an integer or None"),
    ("beyond.ipynb: {config: {lr: 1e-3}}",
     "beyond.ipynb: config: lr='1e-3' is not a number .*YAML reads 1e-3 as text.* 0.001"),
    ("training.ipynb: {config: {epochs: 0}}", "training.ipynb: config: epochs must be positive, got 0"),  # the range
    ("training.ipynb: {config: {optimizer: adam}}",
     r"training.ipynb: config: optimizer='adam' is not one of \('sgd', 'adamw'\)"),
    ("training.ipynb: {config: {dataset: cifar100}}", "training.ipynb: config: dataset='cifar100' needs data_root"),
    ("evaluation.ipynb: {config: {widht: 1.0}}", r"evaluation.ipynb: config: TrainConfig has no fields \['widht'\]"),
])
def test_a_bad_value_is_refused_by_notebook_name_and_value_before_anything_runs(tmp_path, line, message):
    from reproduce.cli import main

    bad = tmp_path / "bad.yml"
    bad.write_text(line + "\n")
    with pytest.raises(ValueError, match=message):
        runner.load_parameters(bad)
    out = tmp_path / "run"
    assert main(["book", "--params", str(bad), "--out", str(out)]) == 2
    assert not out.exists()  # refused before the first notebook (or the run folder)
    with pytest.raises(ValueError, match=message):  # the runner's own entry point checks the same
        runner.run(out, {line.split(":")[0]: __import__("yaml").safe_load(line)[line.split(":")[0]]}, build=False)
    assert not out.exists()


def test_values_that_are_right_are_accepted():
    assert runner.bad_value("training.ipynb", {"config": {"lr": 1, "train_images": None, "epochs": 3}, "sgd_lrs": []}) is None
    assert runner.bad_value("evaluation.ipynb", {"test_images": None, "many_crop_images": 200}) is None


@pytest.mark.parametrize("name", ["cifar100-gpu.yml", "imagenet-gpu.yml"])
def test_the_gpu_sets_train_valid_configurations(name):
    """The notebooks that train under a GPU set start from the book's TrainConfig and change it to the set's data set
    at full width on the GPU, with the paper's SGD and augmentation where the set says so."""
    values = runner.load_parameters(ROOT / "params" / name)
    for notebook in ("training.ipynb", "evaluation.ipynb", "beyond.ipynb", "branches.ipynb"):
        config = book_config(values[notebook]["config"])
        assert config.dataset in ("cifar100", "imagefolder") and config.device == "cuda" and config.width == 1.0
        assert config.optimizer == "sgd" and config.polyak_epochs == 1.0 and config.train_images is None, notebook
    assert values["evaluation.ipynb"]["members"] == 7 and values["evaluation.ipynb"]["shared_epochs"] == 0


@pytest.mark.parametrize("name", ["cifar100-gpu.yml", "imagenet-gpu.yml"])
def test_a_gpu_set_stops_before_anything_runs_on_a_machine_without_a_gpu(name, tmp_path, monkeypatch):
    """A GPU set names device cuda: without a GPU it is refused, naming the notebooks, before any folder is written
    (device "auto" would have trained on the CPU for days); with one, or rehearsed on the CPU, it runs."""
    import torch

    from reproduce.book import rehearsal

    values = runner.load_parameters(ROOT / "params" / name)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match=r"training\.ipynb, evaluation\.ipynb, .*name device 'cuda'.*--rehearse"):
        runner.run(tmp_path / "out", values)
    assert not (tmp_path / "out").exists()
    assert runner.missing_device(rehearsal.scaled(values)) is None  # the rehearsal scales the device to the CPU too
    assert runner.missing_device({"training.ipynb": {"config": {"device": "cpu"}}}) is None
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert runner.missing_device(values) is None


def test_a_notebooks_config_changes_the_books_and_nothing_else():
    """``config`` replaces only the fields it names, every other field is BOOK_CONFIG's; and a YAML alias that
    repeats one config in several notebooks gives each its own copy, so that a change to one leaves the others."""
    changed = book_config({"width": 1.0, "dataset": "cifar100", "data_root": "/data"})
    assert changed.width == 1.0 and changed.dataset == "cifar100"
    assert changed.replace(width=BOOK_CONFIG.width, dataset=BOOK_CONFIG.dataset,
                           data_root=BOOK_CONFIG.data_root) == BOOK_CONFIG
    assert book_config() == book_config({}) == BOOK_CONFIG
    published = runner.load_parameters(ROOT / "params" / "cpu.yml")
    assert published["training.ipynb"]["config"] == published["evaluation.ipynb"]["config"]
    assert published["training.ipynb"]["config"] is not published["evaluation.ipynb"]["config"]


def test_unknown_notebooks_and_parameters_are_refused_by_name(tmp_path):
    published = runner.load_parameters(ROOT / "params" / "cpu.yml")
    assert {name: values.get("runs_dir") for name, values in published.items()} == {
        "training.ipynb": "../checkpoints/runs", "evaluation.ipynb": "../checkpoints/runs",
        "beyond.ipynb": "../checkpoints/runs", "branches.ipynb": None}
    assert published["branches.ipynb"] == {"ensemble_dir": "../checkpoints/runs/ensemble"}  # reuses the ensemble
    bad = tmp_path / "bad.yml"
    bad.write_text("trainig.ipynb: {seeds: 1}\n")
    with pytest.raises(ValueError, match=r"no notebooks named \['trainig.ipynb'\]; the book's notebooks are"):
        runner.load_parameters(bad)
    bad.write_text("training.ipynb: {seeds: 1, seed: 2}\n")
    with pytest.raises(ValueError, match=r"training.ipynb has no parameters \['seed'\]"):
        runner.load_parameters(bad)
    bad.write_text("training.ipynb: 3\n")
    with pytest.raises(ValueError, match="mappings"):
        runner.load_parameters(bad)


@pytest.mark.parametrize("name", ["cifar100-gpu.yml", "imagenet-gpu.yml"])
def test_the_gpu_sets_anneal_the_learning_rate(name):
    """Every run a GPU set trains ends at a small fraction of its starting learning rate: the scheduler the training
    loop builds from the set's parameters, stepped through the whole run. (The ImageNet set once used the paper's
    4% every 8 epochs over 60 epochs, which ends at 75%.)"""
    import torch

    from reproduce.training.schedule import build_scheduler

    values = runner.load_parameters(ROOT / "params" / name)
    for notebook in ("training.ipynb", "evaluation.ipynb", "beyond.ipynb"):
        config = book_config(values[notebook]["config"])
        optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=config.lr)
        steps_per_epoch = 10
        scheduler = build_scheduler(optimizer, config, steps_per_epoch)
        for _ in range(config.epochs * steps_per_epoch - 1):
            optimizer.step()
            scheduler.step()
        assert optimizer.param_groups[0]["lr"] < 0.3 * config.lr, (notebook, optimizer.param_groups[0]["lr"])


def test_the_books_runs_are_shared_between_chapters_and_trained_once():
    """In params/cpu.yml the Training chapter's GoogLeNet (seed k) is Beyond v1's "+ batch norm" row (seed k) and the
    Evaluation chapter's member k + 1, and its GoogLeNet without auxiliary heads (seed k) is Beyond v1's last row,
    each one configuration kept in one runs_dir, trained once: the plan counts them once. Every comparison about
    training has 3 seeds, and the ensemble the paper's 7 members."""
    from reproduce.book import plan

    published = runner.load_parameters(ROOT / "params" / "cpu.yml")
    table = plan.plan(published, "cpu", timed=False)
    stages = table[table["stage"].str.startswith("train")].set_index("notebook")["stage"]
    training = {**runner.notebook_defaults("training.ipynb"), **published["training.ipynb"]}
    beyond = {**runner.notebook_defaults("beyond.ipynb"), **published["beyond.ipynb"]}
    evaluation = {**runner.notebook_defaults("evaluation.ipynb"), **published["evaluation.ipynb"]}
    seeds = training["seeds"]
    assert seeds == beyond["seeds"] == 3 and evaluation["members"] == 7 and not evaluation["shared_init"]
    assert stages["evaluation.ipynb"] == f"train ({7 - seeds} runs; {seeds} reused)"
    beyond_runs = 6 * seeds + len(beyond["paper_lrs"])
    assert stages["beyond.ipynb"] == f"train ({beyond_runs - 2 * seeds} runs; {2 * seeds} reused)"


def test_a_rehearsal_runs_two_processes_on_the_cpu_and_one_per_gpu_on_cuda(monkeypatch):
    import torch

    from reproduce.book import rehearsal

    assert rehearsal.rehearsal_processes("cpu") == rehearsal.PROCESSES == 2
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert rehearsal.rehearsal_processes("cuda") == 1
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 8)
    assert rehearsal.rehearsal_processes("cuda") == 8
