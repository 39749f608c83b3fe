"""The plan of a parameter set: work counted from the notebooks' parameters, multiply-adds and memory from the
model, times from a probe, and a set that does not fit refused by name before anything runs."""

import json
from pathlib import Path

import pytest
import torch
import yaml

from reproduce import book, costs, googlenet, plan
from reproduce.cli import main

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def imagenet():
    """The ImageNet set's plan without the probe (the stages' work does not depend on it)."""
    return plan.plan(book.load_parameters(ROOT / "params" / "imagenet-gpu.yml"), "cpu", timed=False)


def test_the_imagenet_plan_counts_every_run_of_every_notebook_once(imagenet):
    values = book.load_parameters(ROOT / "params" / "imagenet-gpu.yml")
    train_n, val_n, _ = plan.PUBLISHED_SIZES["imagefolder"]
    rows = imagenet[imagenet["stage"].str.startswith("train")].set_index("notebook")
    training, evaluation, beyond = (values[n] for n in ("training.ipynb", "evaluation.ipynb", "beyond.ipynb"))
    assert training["runs_dir"] == evaluation["runs_dir"] == beyond["runs_dir"]  # one store of runs
    # the Training chapter: GoogLeNet and the run without auxiliary heads, one seed each (the set's recipe is the
    # paper's optimizer and augmentation already, so no comparison runs)
    assert (training["seeds"], training["sgd_lrs"], training["augmentation_run"]) == (1, [], False)
    assert rows.loc["training.ipynb", "images"] == train_n * 2 * training["config"]["epochs"]
    assert rows.loc["training.ipynb", "stage"] == "train (2 runs)"
    # the ensemble's first member is the Training chapter's GoogLeNet, Beyond's first row too
    assert rows.loc["evaluation.ipynb", "images"] == (train_n * (evaluation["members"] - 1) *
                                                      evaluation["config"]["epochs"])
    assert rows.loc["evaluation.ipynb", "stage"] == f"train ({evaluation['members'] - 1} runs; 1 reused)"
    assert rows.loc["beyond.ipynb", "images"] == train_n * 5 * beyond["config"]["epochs"]
    crops = imagenet[imagenet["stage"] == "crops"].iloc[0]
    assert crops["images"] == evaluation["members"] * val_n * sum(evaluation["crop_counts"])
    # the scores kept on the host: mean and max over the crops, float32, per member, image, class and crop setting
    assert crops["host GiB"] * 2 ** 30 == evaluation["members"] * val_n * 1000 * 4 * 2 * 3
    assert set(imagenet[imagenet["notebook"] == "branches.ipynb"]["stage"]) == {"branches"}  # torchvision's weights


def test_without_a_shared_runs_dir_every_notebook_trains_its_own(tmp_path):
    separate = tmp_path / "separate.yml"
    values = yaml.safe_load((ROOT / "params" / "imagenet-gpu.yml").read_text())
    for name, notebook in zip(("a", "b", "c"), ("training.ipynb", "evaluation.ipynb", "beyond.ipynb")):
        values[notebook]["runs_dir"] = f"../checkpoints/{name}"
    separate.write_text(yaml.safe_dump(values))
    table = plan.plan(book.load_parameters(separate), "cpu", timed=False)
    stages = table[table["stage"].str.startswith("train")].set_index("notebook")["stage"]
    assert stages.to_dict() == {"training.ipynb": "train (2 runs)", "evaluation.ipynb": "train (7 runs)",
                                "beyond.ipynb": "train (6 runs)"}


def test_multiply_adds_are_the_models(imagenet):
    network = plan.Network(224, 1000)
    assert plan.forward_macs(network) == costs.summary(googlenet(1000, aux_heads=False))["ops"]
    row = imagenet[(imagenet["notebook"] == "training.ipynb") & imagenet["stage"].str.startswith("train")].iloc[0]
    assert row["multiply-adds"] == 3 * row["images"] * plan.forward_macs(network)


def test_memory_per_image_is_every_layers_output_of_a_real_forward_pass():
    network = plan.Network(32, 10, width=0.25, stem="small", batch_norm=True)
    model = network.build().eval()
    leaves = [m for m in model.modules() if not list(m.children())]
    sizes = []
    hooks = [m.register_forward_hook(lambda m, i, o: sizes.append(o.numel())) for m in leaves]
    with torch.no_grad():
        model(torch.randn(1, 3, 32, 32))
    for hook in hooks:
        hook.remove()
    assert plan.memory_per_image(network, bytes_per_value=4) == 4 * sum(sizes)


def test_the_h100_reference_gives_the_hours_on_one_h100(imagenet):
    reference = json.loads(plan.H100_RESULTS.read_text())
    assert "H100" in reference["device"]
    row = imagenet[(imagenet["notebook"] == "training.ipynb") & imagenet["stage"].str.startswith("train")].iloc[0]
    rate = next(r["flops_per_second"] for r in reference["rates"] if r["training"] and r["image_size"] == 224)
    assert row["hours on one H100"] == pytest.approx(2 * row["multiply-adds"] / rate / 3600)


def test_a_plan_that_does_not_fit_is_refused_by_name(tmp_path, capsys):
    huge = tmp_path / "huge.yml"
    huge.write_text("training.ipynb: {config: {batch_size: 4000000, image_size: 224, width: 1.0}}\n")
    table = plan.plan(book.load_parameters(huge), "cpu", timed=False)
    refused = r"training.ipynb, stage 'train \(7 runs\)': needs about [\d.]+ GiB"
    with pytest.raises(plan.InfeasiblePlanError, match=refused):
        plan.check_feasible(table, "cpu")
    assert main(["book", "--params", str(huge), "--plan"]) == 2
    out, err = capsys.readouterr()
    assert "error: training.ipynb, stage 'train (7 runs)'" in err and out == ""  # refused before any probe


def test_the_cli_prints_the_plan_of_a_set_that_fits_and_runs_nothing(tmp_path, capsys):
    quick = ROOT / "params" / "quick.yml"
    assert main(["book", "--params", str(quick), "--plan"]) == 0
    out = capsys.readouterr().out
    for name in plan.WORK:
        assert name in out
    assert "multiply-adds" in out and "all" in out
    assert main(["book", "--params", str(quick)]) == 2  # a run needs --out


def test_on_cuda_the_memory_of_a_measured_network_is_the_measured_peak():
    """The H100 reference measured more memory than the model's count for the paper's network in training (cuDNN's
    workspaces, autocast's copies, the LRN's intermediates): the plan for a GPU takes the measurement."""
    cuda = torch.device("cuda")  # only a label here: nothing runs on it
    for row in json.loads(plan.H100_RESULTS.read_text())["rates"]:
        network = plan.Network(**row["network_options"])
        stage = plan.Stage("x", "train" if row["training"] else "inference", network, row["batch"], row["batch"],
                           row["training"])
        assert plan.estimated_memory(stage, cuda) == row["planned_memory_bytes"]  # the count the probe recorded
        assert plan.stage_memory(stage, cuda) == max(row["peak_memory_bytes"], row["planned_memory_bytes"])
        assert plan.stage_memory(stage, torch.device("cpu")) == plan.estimated_memory(stage, torch.device("cpu"))
