"""How fast one CPU core feeds a GPU: photographs of ImageNet's size decoded and augmented as the training loader
does it, decoded for the evaluator (uint8, whole), CIFAR's arrays augmented, and a folder of files listed the way
``ImageFolder`` scans one. ``benchmarks/loading.py`` measures them into ``benchmarks/results/loading.json``, from
which the plan (:mod:`reproduce.book.plan`) computes the hours of data loading of every stage: a DataLoader worker is one
process on one core, so ``num_workers`` workers load ``num_workers`` times one core's rate at most.

The photographs are scikit-image's (real photographs, shipped with it), cut to 500 x 375, the most common size of
ImageNet's validation photographs, and saved as JPEG at quality 90.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import torch

#: ImageNet's most common photograph: 500 x 375 (width x height).
PHOTO_SIZE = (500, 375)
JPEG_QUALITY = 90


def write_photographs(folder: str | Path, count: int) -> list[Path]:
    """``count`` JPEGs of :data:`PHOTO_SIZE` cut from scikit-image's colour photographs (in turn, each mirrored or
    not), into ``folder``."""
    import numpy as np
    from PIL import Image
    from skimage import data

    sources = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(), data.immunohistochemistry()]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        photo = Image.fromarray(np.ascontiguousarray(sources[index % len(sources)][..., :3]))
        if (index // len(sources)) % 2:
            photo = photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        width, height = PHOTO_SIZE
        scale = max(width / photo.width, height / photo.height)
        photo = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.Resampling.BICUBIC)
        photo = photo.crop((0, 0, width, height))
        path = folder / f"photo-{index:04d}.JPEG"
        photo.save(path, quality=JPEG_QUALITY)
        paths.append(path)
    return paths


def _rate(items: list, work: Callable[[Any], object], rounds: int) -> float:
    """Items per second of ``work`` on every one of ``items``, the best of ``rounds`` passes after an untimed one."""
    for item in items[:2]:
        work(item)
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for item in items:
            work(item)
        best = min(best, time.perf_counter() - started)
    return len(items) / best


def scan_rate(files: int = 20_000, rounds: int = 3) -> float:
    """Files per second that listing a class folder the way ``ImageFolder`` does (``os.scandir``, the extension
    checked) reaches on this machine's temporary file system, for a folder of ``files`` empty files."""
    from torchvision.datasets.folder import IMG_EXTENSIONS, has_file_allowed_extension

    with tempfile.TemporaryDirectory() as folder:
        for index in range(files):
            Path(folder, f"n{index:08d}.JPEG").touch()

        def scan(_):
            return [e.path for e in os.scandir(folder) if has_file_allowed_extension(e.name, IMG_EXTENSIONS)]

        return files * _rate([None], scan, rounds)


def loading_rates(photos: int = 40, rounds: int = 3, *, image_size: int = 224, cifar_size: int = 32,
                  scan_files: int = 20_000) -> dict[str, Any]:
    """Images (or files) per second on one core: ``"decode"`` (a JPEG to an RGB image), ``"train_jpeg"`` (decoded
    and given the paper's augmentation at ``image_size``, as the training loader does), ``"eval_jpeg"`` (decoded and
    made a uint8 tensor, whole, as the evaluator's workers hand it over), ``"train_array"`` (a CIFAR image from its
    array, augmented at ``cifar_size``), ``"eval_array"``, and ``"scan"`` (:func:`scan_rate`). One thread, so that
    the rate is one worker's."""
    import numpy as np
    from PIL import Image

    from ..data.real import load_rgb_image
    from ..data.transforms import paper_train_transform, whole_image_transform
    from ..provenance import machine

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with tempfile.TemporaryDirectory() as folder:
            paths = write_photographs(folder, photos)
            train, whole = paper_train_transform(image_size), whole_image_transform(normalize=False)
            cifar_train = paper_train_transform(cifar_size, crop=False)
            arrays = [Image.fromarray(np.asarray(load_rgb_image(p).resize((32, 32)))) for p in paths]
            torch.manual_seed(0)
            rates = {"decode": _rate(paths, load_rgb_image, rounds),
                     "train_jpeg": _rate(paths, lambda p: train(load_rgb_image(p)), rounds),
                     "eval_jpeg": _rate(paths, lambda p: whole(load_rgb_image(p)), rounds),
                     "train_array": _rate(arrays, cifar_train, rounds),
                     "eval_array": _rate(arrays, whole, rounds),
                     "scan": scan_rate(scan_files, rounds)}
    finally:
        torch.set_num_threads(threads)
    return {"images_per_second_per_core": rates, "photo_size": list(PHOTO_SIZE), "jpeg_quality": JPEG_QUALITY,
            "image_size": image_size, "cifar_size": cifar_size, "machine": machine("cpu"),
            "how": f"one thread, best of {rounds} passes over {photos} JPEGs of {PHOTO_SIZE[0]} x {PHOTO_SIZE[1]} cut "
                   f"from scikit-image's photographs; the scan over {scan_files} files"}
