"""``python -m reproduce evaluate``: a torchvision GoogLeNet state_dict or a run's checkpoint, scored on an ImageFolder
split with 1, 10 or 144 crops, the result written as JSON and equal to scoring the same crops by hand."""

import json

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from torchvision.transforms import v2

from reproduce.cli import main
from reproduce.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from reproduce.evaluate import cut_crops


@pytest.fixture
def folder(tmp_path):
    """val/ with two classes, images of different sizes: landscape, portrait and square."""
    rng = np.random.default_rng(0)
    sizes = [(40, 56), (56, 40), (48, 48)]
    for label, name in enumerate(["cat", "dog"]):
        (tmp_path / "val" / name).mkdir(parents=True)
        for i, (h, w) in enumerate(sizes):
            pixels = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "val" / name / f"{i}.png")
    return tmp_path


def by_hand(model, root, crops, size):
    """Mean softmax over the crops of each image, then top-1 accuracy, with torchvision's own model."""
    dataset = torchvision.datasets.ImageFolder(
        root / "val", transform=v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True),
                                            v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)]))
    hits = []
    with torch.no_grad():
        for image, label in dataset:
            probabilities = model(cut_crops(image[None], crops, size)[0]).softmax(-1).mean(0)
            hits.append(probabilities.argmax().item() == label)
    return sum(hits) / len(hits)


@pytest.mark.parametrize("crops", [1, 144])
def test_torchvision_weights_are_scored_as_by_hand(folder, tmp_path, crops):
    torch.manual_seed(0)
    reference = torchvision.models.googlenet(num_classes=2, aux_logits=True, init_weights=True).eval()
    with torch.no_grad():  # make the two classes' scores differ from image to image
        reference.fc.weight.mul_(1000)
    torch.save(reference.state_dict(), tmp_path / "googlenet.pth")
    out = tmp_path / "result.json"
    code = main(["evaluate", "--checkpoint", str(tmp_path / "googlenet.pth"), "--preset", "torchvision",
                 "--data-root", str(folder), "--crops", str(crops), "--image-size", "32", "--out", str(out),
                 "--no-progress", "--device", "cpu"])
    assert code == 0
    result = json.loads(out.read_text())
    reference.transform_input = True  # as torchvision sets it for the ported weights, and the preset does
    assert result["count"] == 6 and result["crops"] == crops and result["forward_passes_per_image"] == crops
    assert result["top1"] == pytest.approx(by_hand(reference, folder, crops, 32))
    assert set(result["per_class"]) == {"cat", "dog"} and result["classes"] == ["cat", "dog"]


def test_a_runs_checkpoint_is_scored_and_bad_inputs_are_reported(folder, tmp_path, capsys):
    from reproduce.training import TrainConfig, train

    config = TrainConfig(shapes_size=32, image_size=32, train_images=32, eval_images=16, width=0.125, batch_size=16,
                         epochs=1, progress=False)
    train(config, tmp_path / "run")
    assert main(["evaluate", "--checkpoint", str(tmp_path / "run"), "--data-root", str(folder), "--crops", "10",
                 "--no-progress", "--device", "cpu"]) == 0
    assert "top-1 error" in capsys.readouterr().out
    assert main(["evaluate", "--checkpoint", str(tmp_path / "missing.pt"), "--data-root", str(folder)]) == 2
    assert "no checkpoint file" in capsys.readouterr().err
    assert main(["evaluate", "--checkpoint", str(tmp_path / "run"), "--data-root", str(tmp_path / "nothing"),
                 "--no-progress"]) == 2
    assert "Expected layout" in capsys.readouterr().err
