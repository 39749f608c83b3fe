"""Crop probabilities kept on disk block by block as they are computed, and shared out over the processes of a run.

Scoring ImageNet's 50,000 validation images with 7 models and 144 crops is hours of work at the end of days of
training; an interruption must not cost it again. :func:`kept_crop_probabilities` splits the images into blocks of
``block_images``, scores each block with :func:`~.predict.crop_probabilities` and writes its reductions (the mean
and max over the crops, (models, n, classes)) to ``KEEP/block-00000.pt`` ... before it scores the next; a block
already in ``KEEP`` is read, not scored again. ``KEEP/meta.json`` says what the blocks are of (the crop setting, the
images' count, the block size, the models' weights by a checksum), so that a folder of another scoring is refused by
name rather than mixed in.

Within a process group (``torch.distributed`` initialized, e.g. under ``torchrun``), process ``r`` of ``N`` scores the
blocks ``r, r + N, r + 2N, ...`` on its own device, then waits for the others, and every process reads all the
blocks: N GPUs score N times as fast, and the folder is the same one a single process writes. The images are read
block by block through :func:`~.predict.crop_probabilities`'s DataLoader, so host memory holds a block's images at
most, whatever the size of the split.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Optional, Sequence

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import Dataset, Subset

from .crops import PAPER_CROP
from .predict import CropProbabilities, DatasetImages, Ensemble, Images, crop_probabilities, images_per_cut

#: Images per block, at least: one file of (models, images, classes) means and maxes, and the work an interruption
#: loses at most. A block is a whole number of the evaluator's chunks (:func:`~.predict.images_per_cut`), so that
#: the crops go through the models in the same batches as without blocks.
BLOCK_IMAGES = 500
META = "meta.json"


def select(images: Images, indices: Sequence[int]) -> Images:
    """The images ``indices`` picks from ``images`` (a tensor, a list, a data set or its :class:`DatasetImages`),
    without reading any: a data set's stay on disk until they are scored."""
    indices = list(indices)
    if isinstance(images, DatasetImages):
        return DatasetImages(Subset(images.dataset, indices))
    if isinstance(images, Dataset):
        return DatasetImages(Subset(images, indices))
    if isinstance(images, torch.Tensor):
        return images[indices]
    return [images[i] for i in indices]


def checksum(models: nn.Module | Sequence[nn.Module]) -> list[float]:
    """One number per model that changes with its weights: the sum of the absolute values of its parameters and
    buffers, in float64 on the CPU (the same on every device that holds the same weights)."""
    return [float(sum(t.detach().cpu().double().contiguous().abs().sum() for t in (*m.parameters(), *m.buffers())))
            for m in members_of(models)]


def members_of(models: nn.Module | Sequence[nn.Module]) -> list[nn.Module]:
    if isinstance(models, Ensemble):
        return list(models.models)
    return [models] if isinstance(models, nn.Module) else list(models)


def _rank_and_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _check_meta(keep: Path, meta: dict) -> None:
    path = keep / META
    if path.exists():
        found = json.loads(path.read_text())
        if found != meta:
            differ = sorted(k for k in {*found, *meta} if found.get(k) != meta.get(k))
            raise ValueError(f"{keep} holds the crop probabilities of another scoring (it differs in "
                             f"{', '.join(differ)}: {({k: found.get(k) for k in differ})} there, "
                             f"{({k: meta.get(k) for k in differ})} here); remove the folder or choose another")
    else:
        temporary = path.with_suffix(f".tmp{os.getpid()}")
        temporary.write_text(json.dumps(meta, indent=1))
        temporary.replace(path)


def block_path(keep: Path, index: int) -> Path:
    return keep / f"block-{index:05d}.pt"


def kept_crop_probabilities(models: nn.Module | Sequence[nn.Module], images: Images, keep: str | Path, *,
                            crops: int = 1, block_images: Optional[int] = None, progress: bool = False,
                            **options) -> tuple[CropProbabilities, float]:
    """:func:`~.predict.crop_probabilities` of ``models`` on ``images`` (``options``: its keyword arguments), kept in
    the folder ``keep`` block by block as the module describes, and shared out over the processes of a process
    group. ``block_images``: images per block (None: :data:`BLOCK_IMAGES` rounded up to whole chunks). Returns the
    probabilities of every image and the seconds of scoring, summed over the blocks (whoever scored them, now or
    before an interruption)."""
    if block_images is None:
        device = next(iter(members_of(models)[0].parameters())).device
        chunk = options.get("images_at_once") or images_per_cut(crops, options.get("size", PAPER_CROP), device)
        block_images = -(-BLOCK_IMAGES // chunk) * chunk
    if not (isinstance(block_images, int) and block_images >= 1):
        raise ValueError(f"block_images={block_images!r} must be an integer >= 1")
    total = len(images)
    if total == 0:
        raise ValueError("images is empty: there is nothing to score")
    keep = Path(keep)
    rank, world = _rank_and_world()
    meta = {"crops": crops, "images": total, "block_images": block_images, "models": checksum(models),
            **{k: options[k] for k in ("size", "resize_ratio") if k in options}}
    if rank == 0:
        keep.mkdir(parents=True, exist_ok=True)
        _check_meta(keep, meta)
    if world > 1:
        dist.barrier()
    if rank != 0:
        _check_meta(keep, meta)
    starts = range(0, total, block_images)
    for index in range(rank, len(starts), world):
        path = block_path(keep, index)
        if path.exists():
            continue
        started = time.perf_counter()
        part = select(images, range(starts[index], min(starts[index] + block_images, total)))
        scored = crop_probabilities(models, part, crops=crops, progress=progress, **options)
        temporary = path.with_suffix(f".tmp{os.getpid()}")
        torch.save({"mean": scored.mean, "max": scored.max, "seconds": time.perf_counter() - started}, temporary)
        temporary.replace(path)  # a block is there whole or not at all
    if world > 1:
        dist.barrier()
    blocks = [torch.load(block_path(keep, index), weights_only=True) for index in range(len(starts))]
    return (CropProbabilities(torch.cat([b["mean"] for b in blocks], 1), torch.cat([b["max"] for b in blocks], 1),
                              crops), float(sum(b["seconds"] for b in blocks)))


def scoring_folder(root: str | Path, models: nn.Module | Sequence[nn.Module], **parameters) -> Path:
    """The folder under ``root`` for one scoring of ``models`` (``parameters``: what else decides what is scored,
    e.g. the number of test images), named by a hash of their :func:`checksum` and the parameters: another scoring
    gets another folder, the same scoring (a rerun, another process) the same one."""
    what = json.dumps({"models": checksum(models), **parameters}, sort_keys=True, default=str)
    return Path(root) / f"scoring-{hashlib.sha256(what.encode()).hexdigest()[:12]}"


def keep_folder(keep: Optional[str | Path], crops: int) -> Optional[Path]:
    """The folder of one crop setting inside a scoring's ``keep`` folder (None: nothing kept)."""
    return None if keep is None else Path(keep) / f"{crops}-crops"
