"""The ImageNet parameter set rehearsed on the CPU: every notebook executed as the GPU box would execute it, on an
ImageFolder of JPEGs and a torchvision state_dict reached through the set's ``~`` paths, scaled down by
reproduce.book.rehearsal.SCALE, and the book built (tests/rehearsal_checks.py); and the README's GPU commands on the same
kind of data."""

import json

import pytest

from rehearsal_checks import rehearse_and_check
from reproduce.cli import main


@pytest.mark.slow
def test_the_imagenet_set_runs_every_notebook_and_builds_the_book(tmp_path):
    rehearse_and_check(tmp_path, "imagenet-gpu.yml")


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
