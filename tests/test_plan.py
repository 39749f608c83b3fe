"""The plan of a parameter set: work counted from the notebooks' parameters, multiply-adds and memory from the
model, times from a probe, and a set that does not fit refused by name before anything runs."""

import json
from pathlib import Path

import pytest
import torch
import yaml

from reproduce.book import plan, runner
from reproduce.analysis import costs
from reproduce import googlenet
from reproduce.cli import main

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def imagenet():
    """The ImageNet set's plan without the probe (the stages' work does not depend on it)."""
    return plan.plan(runner.load_parameters(ROOT / "params" / "imagenet-gpu.yml"), "cpu", timed=False)


def test_the_imagenet_plan_counts_every_run_of_every_notebook_once(imagenet):
    values = runner.load_parameters(ROOT / "params" / "imagenet-gpu.yml")
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
    table = plan.plan(runner.load_parameters(separate), "cpu", timed=False)
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
    table = plan.plan(runner.load_parameters(huge), "cpu", timed=False)
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


def test_every_training_stage_has_its_polyak_updates_scans_and_loading(imagenet):
    """One Polyak update per step of the runs trained, at the H100's measured update of the paper's network; the
    first run lists both splits' files, and the others read the list back; the loaders' hours at one core's measured rate times the config's workers."""
    values = runner.load_parameters(ROOT / "params" / "imagenet-gpu.yml")
    config = values["training.ipynb"]["config"]
    train_n, val_n, _ = plan.PUBLISHED_SIZES["imagefolder"]
    rows = imagenet[imagenet["notebook"] == "training.ipynb"].set_index("stage")
    trained = rows.loc["train (2 runs)", "images"]
    assert rows.loc["Polyak updates", "images"] == -(-trained // config["batch_size"])  # steps of 128 images
    checks = json.loads(plan.DEVICE_CHECKS.read_text())["polyak_seconds_per_update"]["polyak"]
    assert rows.loc["Polyak updates", "hours on one H100"] == pytest.approx(
        rows.loc["Polyak updates", "images"] * checks / 3600)  # the measured network is the set's
    rates = json.loads(plan.LOADING_RESULTS.read_text())["images_per_second_per_core"]
    workers = config["num_workers"]
    assert rows.loc["train (2 runs)", "loading hours"] == pytest.approx(trained / (rates["train_jpeg"] * workers) / 3600)
    assert rows.loc["test", "loading hours"] == pytest.approx(2 * 2 * val_n / (rates["eval_jpeg"] * workers) / 3600)
    assert rows.loc["scan", "loading hours"] == pytest.approx((train_n + val_n) / rates["scan"] / 3600)
    assert list(imagenet["stage"]).count("scan") == 1  # once for every run of the set (reproduce.data.scans)
    fed = [max(h, l) for h, l in zip(imagenet["hours on one H100"], imagenet["loading hours"].fillna(0))]
    assert imagenet["hours on one H100, fed"].tolist() == pytest.approx(fed)
    assert plan.totals(imagenet).loc["all", "hours on one H100, fed"] == pytest.approx(sum(fed))
    crops = imagenet[imagenet["stage"] == "crops"].iloc[0]  # each test image read once per crop setting
    assert crops["loading hours"] == pytest.approx(3 * val_n / (rates["eval_jpeg"] * workers) / 3600)


def test_the_speed_test_is_a_stage_of_every_member_at_once_and_none_polyak_without_averaging(tmp_path):
    values = yaml.safe_load((ROOT / "params" / "imagenet-gpu.yml").read_text())
    members, batch = values["evaluation.ipynb"]["members"], values["evaluation.ipynb"]["speed_test_batch"]
    table = plan.plan(runner.load_parameters(ROOT / "params" / "imagenet-gpu.yml"), "cpu", timed=False)
    speed = table[table["stage"] == "speed test"].iloc[0]
    assert speed["batch"] == members * batch and "7 at once" in speed["network"]
    network = plan.Network(224, 1000)
    one = plan.estimated_memory(plan.Stage("e", "speed test", network, 1, members * batch, training=True), torch.device("cpu"))
    weights = sum(p.numel() for p in network.build().parameters()) * 4
    assert speed["device GiB"] * 2 ** 30 == pytest.approx(one + 4 * weights * (members - 1))  # every member's weights
    values["training.ipynb"]["config"]["polyak"] = "none"
    without = tmp_path / "without.yml"
    without.write_text(yaml.safe_dump(values))
    table = plan.plan(runner.load_parameters(without), "cpu", timed=False)
    assert "Polyak updates" not in set(table[table["notebook"] == "training.ipynb"]["stage"])


def test_one_core_s_loading_rates_are_measured_on_photographs_of_imagenet_s_size(tmp_path):
    from PIL import Image

    from reproduce.perf.loading import PHOTO_SIZE, loading_rates, write_photographs

    paths = write_photographs(tmp_path, 3)
    assert [Image.open(p).size for p in paths] == [PHOTO_SIZE] * 3 and Image.open(paths[0]).format == "JPEG"
    rates = loading_rates(photos=4, rounds=1, scan_files=200)["images_per_second_per_core"]
    assert set(rates) == {"decode", "train_jpeg", "eval_jpeg", "train_array", "eval_array", "scan"}
    assert rates["decode"] > rates["train_jpeg"] > 0  # the augmentation is work on top of the decoding
