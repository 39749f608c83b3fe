"""Every parameter set in params/ names existing notebooks and their parameters; a wrong name is refused by name."""

from pathlib import Path

import pytest

from reproduce import book
from reproduce.training import TrainConfig

ROOT = Path(__file__).parent.parent
SETS = sorted((ROOT / "params").glob("*.yml"))


def test_the_parameter_sets():
    assert [p.name for p in SETS] == ["cifar100-gpu.yml", "cpu.yml", "imagenet-gpu.yml", "quick.yml"]


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_a_parameter_set_names_notebooks_and_their_parameters(path):
    book.load_parameters(path)  # raises on any unknown notebook or parameter


@pytest.mark.parametrize("name", ["cifar100-gpu.yml", "imagenet-gpu.yml"])
def test_the_gpu_sets_train_valid_configurations(name):
    """The training parameters of a GPU set make a valid TrainConfig (the notebooks build theirs from them)."""
    values = book.load_parameters(ROOT / "params" / name)
    for notebook in ("training.ipynb", "evaluation.ipynb"):
        fields = {k: v for k, v in values[notebook].items() if k in TrainConfig.__dataclass_fields__}
        config = TrainConfig(**fields)
        assert config.dataset in ("cifar100", "imagefolder") and config.device == "auto" and config.width == 1.0
    assert values["evaluation.ipynb"]["members"] == 7 and values["evaluation.ipynb"]["shared_epochs"] == 0


def test_unknown_notebooks_and_parameters_are_refused_by_name(tmp_path):
    published = book.load_parameters(ROOT / "params" / "cpu.yml")
    assert {name: values.get("runs_dir") for name, values in published.items()} == {
        "training.ipynb": "../checkpoints/runs", "evaluation.ipynb": "../checkpoints/runs",
        "beyond.ipynb": "../checkpoints/runs", "branches.ipynb": None}
    assert published["branches.ipynb"] == {"ensemble_dir": "../checkpoints/runs/ensemble"}  # reuses the ensemble
    bad = tmp_path / "bad.yml"
    bad.write_text("trainig.ipynb: {epochs: 1}\n")
    with pytest.raises(ValueError, match="trainig.ipynb"):
        book.load_parameters(bad)
    bad.write_text("training.ipynb: {epochs: 1, epoch: 2}\n")
    with pytest.raises(ValueError, match=r"training.ipynb has no parameters \['epoch'\]"):
        book.load_parameters(bad)
    bad.write_text("training.ipynb: 3\n")
    with pytest.raises(ValueError, match="mappings"):
        book.load_parameters(bad)


@pytest.mark.parametrize("name", ["cifar100-gpu.yml", "imagenet-gpu.yml"])
def test_the_gpu_sets_anneal_the_learning_rate(name):
    """Every run a GPU set trains ends at a small fraction of its starting learning rate: the scheduler the training
    loop builds from the set's parameters, stepped through the whole run. (The ImageNet set once used the paper's
    4% every 8 epochs over 60 epochs, which ends at 75%.)"""
    import torch

    from reproduce.training.schedule import build_scheduler

    values = book.load_parameters(ROOT / "params" / name)
    for notebook in ("training.ipynb", "evaluation.ipynb", "beyond.ipynb"):
        fields = {k: v for k, v in values[notebook].items() if k in TrainConfig.__dataclass_fields__}
        config = TrainConfig(**fields)
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
    each one configuration kept in one runs_dir, trained once: the plan counts them once. Every comparison about training has 3 seeds, and the ensemble the paper's 7 members."""
    from reproduce import plan

    published = book.load_parameters(ROOT / "params" / "cpu.yml")
    table = plan.plan(published, "cpu", timed=False)
    stages = table[table["stage"].str.startswith("train")].set_index("notebook")["stage"]
    training = {**book.notebook_defaults("training.ipynb"), **published["training.ipynb"]}
    beyond = {**book.notebook_defaults("beyond.ipynb"), **published["beyond.ipynb"]}
    evaluation = {**book.notebook_defaults("evaluation.ipynb"), **published["evaluation.ipynb"]}
    seeds = training["seeds"]
    assert seeds == beyond["seeds"] == 3 and evaluation["members"] == 7 and not evaluation["shared_init"]
    assert stages["evaluation.ipynb"] == f"train ({7 - seeds} runs; {seeds} reused)"
    beyond_runs = 6 * seeds + len(beyond["paper_lrs"])
    assert stages["beyond.ipynb"] == f"train ({beyond_runs - 2 * seeds} runs; {2 * seeds} reused)"
