"""The GPU parameter sets rehearsed on the CPU: every notebook executed as the GPU box would execute it, on data in
the on-disk formats the set names (reached through the set's ``~`` paths), scaled down by
reproduce.rehearsal.SCALE, and the book built; and the README's GPU commands on the same data."""

import json
import re
from pathlib import Path

import pytest
import torch

from reproduce import book, plan, rehearsal
from reproduce.cli import main

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("name", ["cifar100-gpu.yml", "imagenet-gpu.yml"])
def test_a_gpu_set_runs_every_notebook_and_builds_the_book(tmp_path, name):
    parameters = book.load_parameters(ROOT / "params" / name)
    summary = rehearsal.rehearse(tmp_path / "run", parameters)
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert sorted(summary["notebooks"]) == notebooks and Path(summary["html"], "index.html").is_file()
    results = book.read_results(tmp_path / "run" / "results")
    for notebook, given in parameters.items():  # executed with the set's values, scaled where SCALE says
        executed = results[notebook.removesuffix(".ipynb")]["parameters"]
        assert executed == summary["rehearsed"][notebook]
        for key, value in given.items():
            assert executed[key] == rehearsal.SCALE.get(key, value) or key not in rehearsal.SCALE
    home = rehearsal.home(tmp_path / "run")
    for values in parameters.values():  # the data came through the set's "~" paths, in its formats
        if values.get("dataset") == "cifar100":
            assert (home / "data" / "cifar100" / "cifar-100-python.tar.gz").is_file()
            assert (home / "data" / "cifar100" / "cifar-100-python" / "train").is_file()  # extracted by the loader
        if values.get("dataset") == "imagefolder":
            assert any((home / "data" / "imagenet" / "train").rglob("*.JPEG"))
    runs = tmp_path / "run" / "notebooks" / parameters["evaluation.ipynb"]["runs_dir"]
    members = sorted((runs / "ensemble").glob("member-*/checkpoint.pt"))
    assert len(members) == rehearsal.SCALE["members"]  # the runs_dir keeps every member, resumable
    # every network was trained once, as the plan counts them: runs shared by notebooks are reloaded, not retrained
    with rehearsal.environment(HOME=str(home)):
        stages = plan.plan(summary["rehearsed"], "cpu", timed=False)["stage"]
    planned = sum(int(re.match(r"train \((\d+) runs", s).group(1)) for s in stages if s.startswith("train ("))
    folders = {p.resolve() for p in (tmp_path / "run" / "checkpoints").rglob("checkpoint.pt")}
    assert len(folders) == planned
    state = torch.load(members[0], weights_only=True)
    assert state["config"]["dataset"] == parameters["evaluation.ipynb"]["dataset"]
    assert state["config"]["lr_schedule"] == parameters["evaluation.ipynb"].get("lr_schedule", "step")
    assert state["config"]["crop"] == parameters["evaluation.ipynb"].get("crop", False)


def test_the_readmes_gpu_commands_on_an_image_folder(tmp_path, capsys):
    """`reproduce train` on an ImageFolder, then `reproduce evaluate` of its checkpoint with the 144 crops and of
    torchvision's weights with the torchvision preset, on the generated ImageNet-format data."""
    from reproduce.data import formats

    data = formats.write_image_folder(tmp_path / "imagenet", classes=3, train_per_class=8, val_per_class=3)
    weights = formats.write_torchvision_googlenet(tmp_path / "googlenet-1378be20.pth")
    run = tmp_path / "run"
    assert main(["train", "--dataset", "imagefolder", "--data-root", str(data), "--image-size", "64", "--width",
                 "0.25", "--batch-size", "8", "--epochs", "1", "--num-workers", "2", "--device", "cpu",
                 "--lr-schedule", "poly", "--out", str(run), "--no-progress"]) == 0
    assert main(["evaluate", "--checkpoint", str(run), "--data-root", str(data), "--crops", "144", "--device", "cpu",
                 "--num-workers", "2", "--out", str(tmp_path / "ours.json"), "--no-progress"]) == 0
    ours = json.loads((tmp_path / "ours.json").read_text())
    assert ours["count"] == 9 and ours["forward_passes_per_image"] == 144
    assert main(["evaluate", "--checkpoint", str(weights), "--preset", "torchvision", "--data-root", str(data),
                 "--crops", "10", "--limit", "4", "--device", "cpu", "--out", str(tmp_path / "tv.json"),
                 "--no-progress"]) == 0
    theirs = json.loads((tmp_path / "tv.json").read_text())
    assert theirs["count"] == 4 and theirs["size"] == 224
