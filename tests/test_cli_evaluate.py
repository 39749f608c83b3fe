"""``python -m reproduce evaluate``: a torchvision GoogLeNet state_dict or a run's checkpoint, scored on an ImageFolder
split with 1, 10 or 144 crops, the result written as JSON and equal to scoring the same crops by hand."""

import json
import shutil

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from torchvision.transforms import v2

from reproduce.cli import main
from reproduce.data import transforms
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
                         epochs=1, crop=False, progress=False)
    train(config, tmp_path / "run")
    out = tmp_path / "run.json"
    assert main(["evaluate", "--checkpoint", str(tmp_path / "run"), "--data-root", str(folder), "--crops", "10",
                 "--no-progress", "--device", "cpu", "--out", str(out)]) == 0
    assert "top-1 error" in capsys.readouterr().out
    result = json.loads(out.read_text())  # trained on whole images: its ten crops are cut from the whole image
    assert result["resize_ratio"] == transforms.test_resize_ratio(False) and result["num_workers"] == 0
    assert main(["evaluate", "--checkpoint", str(tmp_path / "missing.pt"), "--data-root", str(folder)]) == 2
    assert "no checkpoint file" in capsys.readouterr().err
    assert main(["evaluate", "--checkpoint", str(tmp_path / "run"), "--data-root", str(tmp_path / "nothing"),
                 "--no-progress"]) == 2
    assert "Expected layout" in capsys.readouterr().err


@pytest.mark.parametrize("preset", ["reproduce", "torchvision"])
def test_a_truncated_checkpoint_is_reported_by_file_and_cause_without_a_traceback(folder, tmp_path, capsys, preset):
    from reproduce.training import TrainConfig, train

    if preset == "reproduce":
        config = TrainConfig(shapes_size=32, image_size=32, train_images=32, eval_images=16, width=0.125,
                             batch_size=16, epochs=1, crop=False, progress=False)
        path = train(config, tmp_path / "run").out_dir / "checkpoint.pt"
    else:
        path = tmp_path / "googlenet.pth"
        torch.save(torchvision.models.googlenet(num_classes=2, aux_logits=True, init_weights=True).state_dict(), path)
    whole = path.read_bytes()
    path.write_bytes(whole[:len(whole) // 2])  # a copy that did not finish
    assert main(["evaluate", "--checkpoint", str(path), "--preset", preset, "--data-root", str(folder),
                 "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert f"cannot read {path} ({len(whole) // 2:,} bytes)" in error and "truncated" in error
    assert "Traceback" not in error
    if preset == "reproduce":  # resuming the run reads the same file: the same error, by the train command
        assert main(["train", "--out", str(path.parent), "--resume", "--no-progress"]) == 2
        error = capsys.readouterr().err
        assert f"cannot read {path}" in error and "Traceback" not in error


def test_on_cuda_the_images_are_read_by_worker_processes_and_cudnn_autotunes(folder, tmp_path, monkeypatch):
    """--num-workers "auto": none on the CPU, one per core up to 8 on CUDA, where cuDNN's autotuner is also on. The
    device is faked (no GPU here) and the scoring replaced by a recorder."""
    import reproduce.evaluate.score
    import reproduce.training.loop

    model = torchvision.models.googlenet(num_classes=2, aux_logits=False, init_weights=True)
    torch.save(model.state_dict(), tmp_path / "googlenet.pth")
    calls = []

    def recorder(models, root, **options):
        calls.append(options)
        return {"top1_error": 0.5, "top5_error": 0.0, "count": 6, "seconds": 1.0, "classes": ["cat", "dog"]}

    monkeypatch.setattr(reproduce.evaluate.score, "score_folder", recorder)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    monkeypatch.setattr("os.cpu_count", lambda: 32)
    arguments = ["evaluate", "--checkpoint", str(tmp_path / "googlenet.pth"), "--preset", "torchvision",
                 "--data-root", str(folder), "--no-progress"]
    assert main(arguments + ["--device", "cpu"]) == 0
    assert calls[-1]["num_workers"] == 0 and calls[-1]["device"] == "cpu" and not torch.backends.cudnn.benchmark
    monkeypatch.setattr(reproduce.device, "resolve_device", lambda name: torch.device("cuda"))
    assert main(arguments) == 0
    assert calls[-1]["num_workers"] == 8 and calls[-1]["device"] == "cuda" and torch.backends.cudnn.benchmark
    monkeypatch.setattr("os.cpu_count", lambda: 3)
    assert main(arguments) == 0 and calls[-1]["num_workers"] == 3
    assert main(arguments + ["--num-workers", "5"]) == 0 and calls[-1]["num_workers"] == 5
    # torchvision's weights were trained on random crops: their 1 and 10 crops are cut at 256/224
    assert calls[-1]["resize_ratio"] == transforms.test_resize_ratio(True)


@pytest.mark.parametrize("value", ["-1", "many"])
def test_a_bad_number_of_workers_is_rejected_by_name(value, capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", "--checkpoint", "x.pt", "--data-root", "nothing", "--num-workers", value])
    assert f"{value!r} is not 'auto' or a number of processes" in capsys.readouterr().err


@pytest.mark.parametrize("crops", [1, 10, 144])
def test_a_truncated_image_is_skipped_named_and_left_out_of_every_number(folder, tmp_path, capsys, crops):
    """One damaged JPEG among the images: the run completes, scores the others exactly as without it, and names it
    in the log and the results; more than the allowed share, or only damaged files first, stops with a clear error."""
    torch.manual_seed(0)
    model = torchvision.models.googlenet(num_classes=2, aux_logits=True, init_weights=True).eval()
    with torch.no_grad():
        model.fc.weight.mul_(1000)
    torch.save(model.state_dict(), tmp_path / "googlenet.pth")
    damaged = folder / "val" / "dog" / "3.jpg"
    Image.fromarray(np.zeros((40, 40, 3), dtype=np.uint8)).save(damaged)
    damaged.write_bytes(damaged.read_bytes()[:200])  # a copy that did not finish
    reference = tmp_path / "without"
    shutil.copytree(folder / "val", reference / "val")
    (reference / "val" / "dog" / "3.jpg").unlink()
    common = ["--checkpoint", str(tmp_path / "googlenet.pth"), "--preset", "torchvision", "--crops", str(crops),
              "--image-size", "32", "--no-progress", "--device", "cpu"]
    out = tmp_path / "result.json"
    assert main(["evaluate", *common, "--data-root", str(folder), "--out", str(out), "--max-unreadable", "0.2"]) == 0
    captured = capsys.readouterr()
    assert f"skipped: cannot read the image {damaged}" in captured.err and "1 unreadable images skipped" in captured.out
    result = json.loads(out.read_text())
    assert result["unreadable_count"] == 1 and result["unreadable"][0]["path"] == str(damaged)
    assert main(["evaluate", *common, "--data-root", str(reference), "--out", str(tmp_path / "clean.json")]) == 0
    clean = json.loads((tmp_path / "clean.json").read_text())
    assert result["count"] == clean["count"] == 6 and result["top1"] == clean["top1"]
    assert result["per_class"] == clean["per_class"] and clean["unreadable"] == []
    # the default share (0.1%) of 7 images allows none: the run says so, by count and file
    assert main(["evaluate", *common, "--data-root", str(folder)]) == 2
    assert "1 of the 7 images cannot be read, more than the 0.10% a run may skip" in capsys.readouterr().err


def test_a_folder_whose_first_images_are_all_unreadable_stops_at_once(tmp_path, capsys):
    for name in ("cat", "dog"):
        (tmp_path / "val" / name).mkdir(parents=True)
        for i in range(5):
            (tmp_path / "val" / name / f"{i}.jpg").write_text("not an image")
    torch.save(torchvision.models.googlenet(num_classes=2, aux_logits=True, init_weights=True).state_dict(),
               tmp_path / "googlenet.pth")
    assert main(["evaluate", "--checkpoint", str(tmp_path / "googlenet.pth"), "--preset", "torchvision",
                 "--data-root", str(tmp_path), "--no-progress", "--device", "cpu", "--max-unreadable", "1"]) == 2
    error = capsys.readouterr().err
    assert "the first 8 images cannot be read, so the run did not start" in error and "cat/0.jpg" in error
