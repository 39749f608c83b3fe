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
from pathlib import Path
from typing import Any

import torch

from .measure import interleaved_seconds

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


def scan_rate(files: int = 20_000, rounds: int = 3) -> float:
    """Files per second that listing a class folder the way ``ImageFolder`` does (``os.scandir``, the extension
    checked) reaches on this machine's temporary file system, for a folder of ``files`` empty files."""
    from torchvision.datasets.folder import IMG_EXTENSIONS, has_file_allowed_extension

    with tempfile.TemporaryDirectory() as folder:
        for index in range(files):
            Path(folder, f"n{index:08d}.JPEG").touch()

        def scan():
            return [e.path for e in os.scandir(folder) if has_file_allowed_extension(e.name, IMG_EXTENSIONS)]

        return files / interleaved_seconds({"scan": scan}, torch.device("cpu"), rounds=rounds)["scan"]


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
            arrays = [Image.fromarray(np.asarray(load_rgb_image(p).resize((cifar_size, cifar_size)))) for p in paths]
            work = {"decode": (paths, load_rgb_image), "train_jpeg": (paths, lambda p: train(load_rgb_image(p))),
                    "eval_jpeg": (paths, lambda p: whole(load_rgb_image(p))), "train_array": (arrays, cifar_train),
                    "eval_array": (arrays, whole)}
            torch.manual_seed(0)
            seconds = interleaved_seconds({name: (lambda items=items, call=call: [call(i) for i in items])
                                           for name, (items, call) in work.items()}, torch.device("cpu"),
                                          rounds=rounds)
            rates = {name: len(items) / seconds[name] for name, (items, _) in work.items()}
            rates["scan"] = scan_rate(scan_files, rounds)
    finally:
        torch.set_num_threads(threads)
    return {"images_per_second_per_core": rates, "photo_size": list(PHOTO_SIZE), "jpeg_quality": JPEG_QUALITY,
            "image_size": image_size, "cifar_size": cifar_size, "machine": machine("cpu"),
            "how": f"one thread, the median of {rounds} interleaved passes over {photos} JPEGs of {PHOTO_SIZE[0]} x {PHOTO_SIZE[1]} cut "
                   f"from scikit-image's photographs; the scan over {scan_files} files"}
