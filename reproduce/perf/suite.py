"""The whole suite of :mod:`reproduce.perf`, in one run on one machine: what ``benchmarks/throughput.py`` writes and
the Performance appendix shows."""

from __future__ import annotations

from datetime import datetime, timezone

import torch
from tqdm import tqdm

from ..device import resolve_device
from ..models import googlenet, googlenet_torchvision
from ..provenance import git_commit, machine
from ..training.config import BOOK_CONFIG, TrainConfig
from .appendix import targets
from .comparisons import (compile_comparison, crops_comparison, data_comparison, ensemble_comparison,
                          inference_comparison, training_comparison, training_profile)
from .measure import matmul_peak



#: Section 6's augmentation, all of it (the book's runs use flips only; see the Training chapter).
PAPER_AUGMENTATION = dict(crop=True, photometric=True, random_interpolation=True, flip=True)


def suite(device: str = "auto", *, sizes: tuple[int, ...] = (224, 64), batch_sizes: dict[int, int] | None = None,
          crop_images: dict[int, int] | None = None, members: int = 7, data_images: int = 1024, rounds: int = 7,
          compile: bool = True, book: TrainConfig = BOOK_CONFIG, progress: bool = True) -> dict:
    """Every comparison of this module, in one run on one machine; what ``benchmarks/throughput.py`` writes.

    ``sizes``: input sides for the torchvision comparisons and the 144-crop evaluator (224: ImageNet's; 64: the
    book's). ``batch_sizes``: images per step at each size (default 16 at 224 px and 64 below). ``crop_images``:
    images per 144-crop comparison at each size (4:3 landscapes, 1.6x the crop's side tall; default 2 at 224 px and
    8 below). ``data_images``: images rendered and
    augmented per round of the data comparison. ``compile``: also time
    ``torch.compile`` at the smallest size (minutes of compiling on a CPU)."""
    target = resolve_device(device)
    gpu = target.type == "cuda"  # a GPU needs large batches to be busy
    batch_sizes = {size: (128 if gpu else 16) if size >= 160 else (256 if gpu else 64) for size in sizes} | (
        batch_sizes or {})
    crop_images = {size: 2 if size >= 160 else 8 for size in sizes} | (crop_images or {})
    book = book.replace(device=str(target), progress=False)
    result: dict = {"machine": machine(target), "rounds": rounds, "git_commit": git_commit(),
                    "measured": datetime.now(timezone.utc).isoformat(timespec="minutes")}
    step = tqdm(total=5 + compile, desc="benchmarks", unit="part", disable=not progress)
    result["matmul_peak"] = matmul_peak(target)
    peaks = {False: result["matmul_peak"]["flops_per_second"]}  # by whether autocast (bf16) is on
    if gpu:
        result["matmul_peak_bf16"] = matmul_peak(target, dtype=torch.bfloat16, sizes=(4096, 8192))
        peaks[True] = result["matmul_peak_bf16"]["flops_per_second"]
    peak = peaks[gpu]
    result["training"], result["inference"] = [], []
    result["training_profile"] = [training_profile(size, batch_sizes[size], target) for size in sizes]
    for size in sizes:
        result["training"].append(training_comparison(size, batch_sizes[size], target, rounds=rounds,
                                                       progress=progress))
        result["inference"].append(inference_comparison(size, batch_sizes[size], target, rounds=rounds,
                                                        progress=progress))
    for row in result["training"] + result["inference"]:
        row["share_of_peak"] = row["flops_per_second"] / peaks[row["amp"]]
    for row in result["training_profile"]:
        row["share_of_peak"] = {group: rate / peak for group, rate in row["flops_per_second"].items()}
    step.update()
    if compile:
        result["compile"] = compile_comparison(min(sizes), batch_sizes[min(sizes)], target, rounds=rounds,
                                               progress=progress)
        step.update()
    result["crops"] = []
    for size in sizes:
        generator = torch.Generator().manual_seed(0)
        images = torch.rand(crop_images[size], 3, round(size * 1.6), round(size * 1.6 * 4 / 3), generator=generator)
        torch.manual_seed(0)
        model = (googlenet_torchvision(1000, aux_heads=False) if size >= 160 else
                 googlenet(10, **{**book.model_options(), "aux_heads": False}))
        result["crops"].append({"model": "torchvision-compatible" if size >= 160 else f"book (width {book.width})",
                                **crops_comparison(model, images, size, target, rounds=max(1, rounds // 2),
                                                   progress=progress)})
    step.update()

    result["ensemble"] = ensemble_comparison(book, members, batch_size=book.batch_size, rounds=max(1, rounds // 2))
    step.update()
    result["data"] = [data_comparison(book, images=data_images, rounds=rounds, progress=progress),
                      data_comparison(book.replace(**PAPER_AUGMENTATION), images=data_images, rounds=rounds,
                                      progress=progress)]
    step.update()
    step.close()
    result["targets"] = targets(result)
    return result

