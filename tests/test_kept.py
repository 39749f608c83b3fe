"""Crop scoring at the size of ImageNet: probabilities kept block by block (an interrupted scoring resumes where it
stopped), shared out over the processes of a run, images handed over by DataLoader workers as uint8 in batches that
fit a container's shared memory and open files, and host memory that does not grow with the number of images."""

import importlib
import json
import os
import subprocess
import sys
import textwrap
import traceback
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from reproduce.book import runner
from reproduce.data import formats, whole_images
from reproduce.data.transforms import model_input, whole_image_transform
from reproduce.evaluate import kept
from reproduce.evaluate.kept import kept_crop_probabilities, scoring_folder
from reproduce.evaluate.predict import crop_probabilities, images_per_load, whole_image_bytes
from reproduce.models import googlenet
from reproduce.training import book_config

from test_distributed import run_two

predict = importlib.import_module("reproduce.evaluate.predict")  # (reproduce.evaluate.predict is also a function)


def small_models(count: int = 2) -> list[nn.Module]:
    torch.manual_seed(0)
    return [googlenet(4, width=0.125, batch_norm=True, aux_heads=False, stem="small").eval() for _ in range(count)]


class Counting(nn.Module):
    """A model that counts the images it sees, and raises once it has seen ``fail_after`` (an interruption)."""

    def __init__(self, model: nn.Module, fail_after: int | None = None):
        super().__init__()
        self.model, self.fail_after, self.seen = model, fail_after, 0

    def forward(self, x):
        self.seen += len(x)
        if self.fail_after is not None and self.seen > self.fail_after:
            raise KeyboardInterrupt("interrupted")
        return self.model(x)


def test_kept_probabilities_are_those_of_one_pass_and_an_interrupted_scoring_resumes_at_its_block(tmp_path):
    images = torch.randn(10, 3, 20, 20)
    models = small_models()
    whole = crop_probabilities(models, images, crops=10, size=16)
    keep = tmp_path / "keep"
    counting = [Counting(m, fail_after=25) for m in models]  # block 0 (4 images x 10 crops) needs 40 crops
    with pytest.raises(KeyboardInterrupt):
        kept_crop_probabilities(counting, images, keep, crops=10, size=16, block_images=2)
    assert sorted(p.name for p in keep.glob("block-*.pt")) == ["block-00000.pt"]  # the first block, whole
    again = [Counting(m) for m in models]
    resumed, seconds = kept_crop_probabilities(again, images, keep, crops=10, size=16, block_images=2)
    assert [c.seen for c in again] == [8 * 10] * 2  # the 8 images of the blocks not kept, and nothing else
    assert sorted(p.name for p in keep.glob("block-*.pt")) == [f"block-{i:05d}.pt" for i in range(5)]
    assert not list(keep.glob("*.tmp*")) and seconds > 0
    for reduced in ("mean", "max"):
        torch.testing.assert_close(getattr(resumed, reduced), getattr(whole, reduced), rtol=0, atol=1e-6)
    finished = [Counting(m, fail_after=0) for m in models]  # everything kept: read back, no image scored
    read, _ = kept_crop_probabilities(finished, images, keep, crops=10, size=16, block_images=2)
    assert torch.equal(read.mean, resumed.mean)


def test_a_folder_of_another_scoring_is_refused_by_what_differs(tmp_path):
    images = torch.randn(4, 3, 20, 20)
    models = small_models()
    kept_crop_probabilities(models, images, tmp_path, crops=1, size=16, block_images=2)
    with pytest.raises(ValueError, match="differs in models"):
        kept_crop_probabilities(models[::-1], images, tmp_path, crops=1, size=16, block_images=2)
    with pytest.raises(ValueError, match="differs in images"):
        kept_crop_probabilities(models, images[:3], tmp_path, crops=1, size=16, block_images=2)
    assert scoring_folder(tmp_path, models, test_images=4) == scoring_folder(tmp_path, small_models(), test_images=4)
    assert len({scoring_folder(tmp_path, models, test_images=4), scoring_folder(tmp_path, models, test_images=5),
                scoring_folder(tmp_path, models[:1], test_images=4)}) == 3


def test_a_block_is_a_whole_number_of_the_evaluator_s_chunks(tmp_path):
    """So that the crops go through the models in the batches they would go through without blocks."""
    models = small_models(1)
    chunk = predict.images_per_cut(1, 16)
    images = torch.zeros(1, 3, 16, 16).expand(kept.BLOCK_IMAGES + 1, -1, -1, -1)
    kept_crop_probabilities(models, images, tmp_path, crops=1, size=16)
    block = json.loads((tmp_path / kept.META).read_text())["block_images"]
    assert block % chunk == 0 and kept.BLOCK_IMAGES <= block < kept.BLOCK_IMAGES + chunk


def _one_of_two(rank: int, port: int, images, folder: Path) -> None:
    try:
        import torch.distributed as dist

        torch.set_num_threads(1)
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
        counting = [Counting(m) for m in small_models()]
        result, _ = kept_crop_probabilities(counting, images, folder / "keep", crops=10, size=16, block_images=2)
        torch.save({"mean": result.mean, "seen": counting[0].seen}, folder / f"rank-{rank}.pt")
        dist.destroy_process_group()
    except BaseException:
        (folder / f"rank-{rank}.error").write_text(traceback.format_exc())
        raise


def test_two_processes_score_alternate_blocks_and_both_read_every_block(tmp_path):
    images = torch.randn(10, 3, 20, 20)
    run_two(_one_of_two, images, tmp_path, folder=tmp_path, timeout=60)
    whole = crop_probabilities(small_models(), images, crops=10, size=16)
    ranks = [torch.load(tmp_path / f"rank-{rank}.pt", weights_only=True) for rank in (0, 1)]
    assert [r["seen"] for r in ranks] == [3 * 2 * 10, 2 * 2 * 10]  # blocks 0, 2, 4 and 1, 3: two images each
    for r in ranks:
        torch.testing.assert_close(r["mean"], whole.mean, rtol=0, atol=1e-6)


#: The limits a container gets unless it asks for more: Docker's 64 MiB of /dev/shm and 1,024 open files.
CONTAINER_SHM, CONTAINER_FILES = 64 * 2 ** 20, 1024


@pytest.mark.parametrize("name", ["imagenet-gpu", "cifar100-gpu"])
def test_the_gpu_sets_loaders_fit_a_container_s_shared_memory_and_open_files(name):
    """Every batch the workers hold at once, at the set's workers and crop size, for each setting of the set."""
    parameters = {**runner.notebook_defaults("evaluation.ipynb"),
                  **runner.load_parameters(f"params/{name}.yml")["evaluation.ipynb"]}
    config = book_config(parameters["config"])
    workers, size = config.num_workers, config.image_size
    for crops in parameters["crop_counts"]:
        per_chunk = predict.images_per_cut(crops, size, "cuda")
        per_load = images_per_load(workers, whole_image_bytes(size), per_chunk)
        in_flight = workers * predict.PREFETCH * per_load
        assert in_flight * whole_image_bytes(size) <= CONTAINER_SHM - 16 * 2 ** 20, (crops, per_load)
        assert in_flight <= CONTAINER_FILES // 2, (crops, per_load)
        assert per_load >= 1
    # an ImageNet validation photograph (500 x 375, uint8) is within the bytes the loaders are sized for
    assert 3 * 500 * 375 <= whole_image_bytes(224) * 1.2


def test_images_handed_over_as_uint8_in_small_batches_give_the_probabilities_of_float_images(tmp_path, monkeypatch):
    """uint8 images from two workers, one image per batch, gathered into the evaluator's chunks on the device, score
    exactly as the same images normalized in the data set and read in this process."""
    formats.write_image_folder(tmp_path, classes=2, train_per_class=2, val_per_class=4)
    as_read = whole_images("imagefolder", "val", root=str(tmp_path), normalize=False)
    normalized = whole_images("imagefolder", "val", root=str(tmp_path))
    assert as_read[0][0].dtype == torch.uint8
    assert torch.equal(model_input(as_read[0][0]), normalized[0][0])  # the same steps, in the same order
    assert torch.equal(whole_image_transform()(as_read[0][0]), normalized[0][0])
    monkeypatch.setattr(predict, "SHARED_MEMORY_BYTES", 1)  # one image per batch
    models = small_models()
    handed = crop_probabilities(models, as_read, crops=10, size=16, num_workers=2, images_at_once=3)
    in_process = crop_probabilities(models, [normalized[i][0] for i in range(len(normalized))], crops=10, size=16,
                                    images_at_once=3)
    assert torch.equal(handed.mean, in_process.mean) and torch.equal(handed.max, in_process.max)


MEMORY_SCRIPT = textwrap.dedent("""
    import importlib, resource, sys, torch
    predict = importlib.import_module("reproduce.evaluate.predict")
    predict.CROP_BYTES = predict.IMAGE_BYTES = 2 ** 22  # small chunks, so that both sizes hold many
    from reproduce.data import whole_images
    from reproduce.evaluate.score import images_and_targets
    from reproduce.evaluate.table3 import score_crop_settings
    from reproduce.models import googlenet
    root = sys.argv[1]
    torch.manual_seed(0)
    model = googlenet(2, width=0.0625, batch_norm=True, aux_heads=False, stem="small").eval()
    images, targets = images_and_targets(whole_images("imagefolder", "val", root=root, normalize=False))
    score_crop_settings([model], images, [1, 144], list(range(0, len(targets), 8)), size=32, resize_ratio=1.0,
                        num_workers=0, keep=root + "/keep")
    print(len(targets), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
""")
#: What keeps the peak resident memory of the scoring a measure of what it holds: freed blocks go back to the system
#: (glibc's heap would keep them), and oneDNN does not cache a kernel for every batch size it meets (its cache is
#: bounded by a count of kernels, not by the images).
MEASURED_ENVIRONMENT = {"OMP_NUM_THREADS": "1", "MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_ARENA_MAX": "1",
                        "ONEDNN_PRIMITIVE_CACHE_CAPACITY": "0"}


@pytest.mark.slow
def test_scoring_memory_does_not_grow_with_the_number_of_images(tmp_path):
    """Peak resident memory of scoring a split with 1 crop and, on every eighth image, 144 crops, in a fresh process
    each, at 48 photographs and at 480 (the same 48, ten times each, so that the largest image and the mix of sizes
    are the same): it grows by less than a quarter of the bytes the extra images take as read (uint8). Holding the
    144-crop subset as the scoring did (decoded, float) grows by about half of them, and fails it."""
    import shutil

    from PIL import Image

    small = formats.write_image_folder(tmp_path / "small", classes=2, train_per_class=2, val_per_class=24) / "val"
    large = tmp_path / "large" / "val"
    for path in (p for p in small.rglob("*") if p.is_file()):
        (large / path.parent.name).mkdir(parents=True, exist_ok=True)
        for copy in range(10):
            shutil.copy(path, large / path.parent.name / f"{copy}-{path.name}")  # copies apart in the order
    peaks, pixels = {}, {}
    for name, folder in (("small", small), ("large", large)):
        pixels[name] = sum(3 * Image.open(path).width * Image.open(path).height
                           for path in folder.rglob("*") if path.is_file())
        out = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(folder.parent)], capture_output=True,
                             text=True, check=True, env={**os.environ, **MEASURED_ENVIRONMENT}).stdout.split()
        assert int(out[0]) == {"small": 48, "large": 480}[name]
        peaks[name] = int(out[1]) * 1024  # bytes
    grown, held = peaks["large"] - peaks["small"], pixels["large"] - pixels["small"]
    assert grown < held / 4, (grown / 2 ** 20, held / 2 ** 20)


def test_the_evaluation_chapter_keeps_its_scoring_in_the_runs_folder_and_reads_it_back(tmp_path, monkeypatch):
    """What the chapter calls: with a runs_dir, the probabilities of every crop setting are kept there, a second call
    scores nothing and gives the same settings, and without one the same settings are scored in memory."""
    from reproduce.book.chapters.evaluation import score_members
    from reproduce.training import TrainConfig
    from reproduce.training.launch import PROCESSES_VARIABLE

    monkeypatch.delenv(PROCESSES_VARIABLE, raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    config = TrainConfig(dataset="shapes", shapes_size=32, image_size=32, device="cpu", progress=False)
    torch.manual_seed(0)
    models = [googlenet(10, width=0.125, batch_norm=True, aux_heads=False, stem="small").eval() for _ in range(2)]
    scoring = dict(test_images=6, many_crop_images=2, crop_counts=[1, 10, 144])
    results = [SimpleNamespace(config=config, out_dir=None)] * 2  # trained in this process: scored in it too
    first, targets = score_members(results, models, config, runs_dir=str(tmp_path), weights="polyak", **scoring)
    (folder,) = (tmp_path / "crops").glob("scoring-*")
    assert sorted(f.name for f in folder.iterdir()) == ["1-crops", "10-crops", "144-crops"]

    def no_scoring(*args, **kwargs):
        raise AssertionError("kept: nothing is to be scored again")

    monkeypatch.setattr(kept, "crop_probabilities", no_scoring)
    again, _ = score_members(results, models, config, runs_dir=str(tmp_path), weights="polyak", **scoring)
    monkeypatch.undo()
    alone, alone_targets = score_members(results, models, config, runs_dir=None, weights="polyak", **scoring)
    assert torch.equal(targets, alone_targets) and again.subset == alone.subset == first.subset
    for crops in (1, 10, 144):
        assert torch.equal(again.on_subset[crops].mean, first.on_subset[crops].mean)
        torch.testing.assert_close(first.on_subset[crops].mean, alone.on_subset[crops].mean, rtol=0, atol=1e-6)
