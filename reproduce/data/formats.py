"""Files in the real data sets' formats, written by the project itself: CIFAR-10/100 "python version" pickles, an
ImageNet-like folder of JPEGs, and a torchvision GoogLeNet state_dict.

The parameter sets written for a GPU read those files, which the machines that build this book do not have. Writing
the same formats here lets a CPU rehearse such a run end to end, at a small size, through the very loaders the GPU
run uses (:mod:`.real`, :func:`reproduce.evaluate.score.load_model`). The images are scenes of the
embedded data set (:func:`.synthetic.render`), so a network can learn them: the label of every image is its shape's
class, as described for each writer. Everything is deterministic from ``seed``.
"""

from __future__ import annotations

import io
import math
import pickle
import struct
import tarfile
import tempfile
import types
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision.datasets import CIFAR10, CIFAR100

from .real import PathLike
from .synthetic import BLOCK, CLASSES, render

#: The two splits each writer makes, in the order their generators are seeded.
SPLITS = ("train", "test")
#: The side of the square scenes :func:`write_image_folder` renders before resizing each to its photo's size.
RENDER_SIZE = 96
#: The sides of :func:`write_image_folder`'s photos lie in this range (pixels): the shorter side is drawn uniformly
#: from its low end to the most that leaves room for the aspect ratio, drawn log-uniformly from ``PHOTO_ASPECT``.
PHOTO_SIDES = (64, 320)
PHOTO_ASPECT = (1.0, 1.5)
#: What real ImageNet holds besides RGB JPEGs, each written at least once per split by :func:`write_image_folder`:
#: a greyscale JPEG, a CMYK JPEG and a PNG file named ``.JPEG``.
ODDITIES = ("greyscale", "cmyk", "png")


class Python2Pickler(pickle._Pickler):
    """A pickler that writes ``bytes`` as Python 2 wrote its ``str`` (SHORT_BINSTRING and BINSTRING opcodes), as the
    official CIFAR files hold their strings; the standard pickler has no option for it. numpy arrays pickled by it
    are as Python 2 pickled them too: their raw data is such a string, and numpy 2's ``numpy._core`` is named
    ``numpy.core``, as in the official files (numpy 2 reads both)."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_global(self, obj: Any, name: str | None = None) -> None:
        name = name or obj.__qualname__
        module = pickle.whichmodule(obj, name)
        if module.split(".")[:2] != ["numpy", "_core"]:
            return super().save_global(obj, name)
        self.write(pickle.GLOBAL + f"numpy.core{module[len('numpy._core'):]}\n{name}\n".encode("ascii"))
        self.memoize(obj)

    dispatch[types.FunctionType] = save_global

    def save_python2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_python2_str


def write_python2_pickle(path: PathLike, obj: Any) -> None:
    """Write ``obj`` to ``path`` as a Python 2 pickle of protocol 2, the format of the official CIFAR files (byte
    strings become Python 2 ``str``; write keys and names as ``bytes`` for the files to be like the official ones)."""
    buffer = io.BytesIO()
    Python2Pickler(buffer, protocol=2).dump(obj)
    Path(path).write_bytes(buffer.getvalue())


def _generator(seed: int, split: str) -> torch.Generator:
    """The generator every random number of one split of a writer is drawn from."""
    return torch.Generator().manual_seed(seed * 1_000_003 + SPLITS.index(split) + 17)


def render_labelled(labels: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """One scene of the embedded data set per label, showing the shape ``label % 10`` (:data:`.synthetic.CLASSES`):
    uint8, N x 3 x size x size, rendered :data:`.synthetic.BLOCK` at a time to bound the memory."""
    shapes = labels % len(CLASSES)
    blocks = [render(shapes[start:start + BLOCK], size, generator) for start in range(0, len(labels), BLOCK)]
    return torch.cat(blocks) if blocks else torch.empty(0, 3, size, size, dtype=torch.uint8)


def _shuffled_labels(num_images: int, num_classes: int, generator: torch.Generator) -> torch.Tensor:
    """``num_images`` labels balanced over ``num_classes`` (counts differ by one at most), in a random order."""
    return (torch.arange(num_images) % num_classes)[torch.randperm(num_images, generator=generator)]


# CIFAR ----------------------------------------------------------------------------------------------------------------

def write_cifar(root: PathLike, num_classes: int = 10, *, train_images: int, test_images: int, seed: int = 0,
                archive_only: bool = False) -> Path:
    """CIFAR-10 (``num_classes=10``) or CIFAR-100 (``num_classes=100``) with ``train_images`` and ``test_images``
    32 px images, in the files of the official "python version" archive; returns the folder written,
    ``ROOT/cifar-10-batches-py`` or ``ROOT/cifar-100-python`` (``~`` expanded).

    The files are those of the official archives, key for key: Python 2 pickles of protocol 2 whose keys and names
    are Python 2 strings. CIFAR-10: ``data_batch_1`` to ``data_batch_5`` (the training images split into five),
    ``test_batch`` (each ``{batch_label, labels, data, filenames}``) and ``batches.meta``
    (``{num_cases_per_batch, label_names, num_vis}``). CIFAR-100: ``train`` and ``test`` (each
    ``{filenames, batch_label, fine_labels, coarse_labels, data}``) and ``meta``
    (``{fine_label_names, coarse_label_names}``). ``data`` is a uint8 array of one row of 3,072 values per image (the
    red, green and blue 32 x 32 planes, each row by row), labels are lists of ints.

    Labels are balanced over the classes and the image of label ``k`` shows the shape ``k % 10`` (for CIFAR-10 the
    class names are the shapes'; for CIFAR-100, ``k`` is named ``<shape>_<k // 10>``, so ten labels share each
    shape, and its coarse label, one of 20, is ``k // 5``). With ``archive_only=True`` only the archive
    ``ROOT/cifar-10-python.tar.gz`` or ``ROOT/cifar-100-python.tar.gz`` is written, holding the folder as the
    download does, and its path is returned.
    """
    if num_classes not in (10, 100):
        raise ValueError(f"num_classes={num_classes!r} is not one of (10, 100) (CIFAR-10 or CIFAR-100)")
    for name, value in (("train_images", train_images), ("test_images", test_images)):
        if not (isinstance(value, int) and value >= 0):
            raise ValueError(f"{name}={value!r} must be a non-negative number of images")
    root = Path(root).expanduser()
    dataset = CIFAR10 if num_classes == 10 else CIFAR100
    if not archive_only:
        return _write_cifar_folder(root / dataset.base_folder, num_classes, train_images, test_images, seed)
    root.mkdir(parents=True, exist_ok=True)
    archive = root / dataset.filename
    with tempfile.TemporaryDirectory() as work:
        folder = _write_cifar_folder(Path(work) / dataset.base_folder, num_classes, train_images, test_images, seed)
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(folder, arcname=folder.name)
    return archive


def _cifar_split(num_images: int, num_classes: int, seed: int, split: str) -> tuple[np.ndarray, list[int]]:
    """The CIFAR rows (N x 3,072 uint8) and labels of one split."""
    generator = _generator(seed, split)
    labels = _shuffled_labels(num_images, num_classes, generator)
    rows = render_labelled(labels, 32, generator).reshape(num_images, 3 * 32 * 32).numpy()
    return rows, labels.tolist()


def _filenames(labels: list[int], names: list[str], numbers: Iterable[int]) -> list[bytes]:
    """Names like the official ones (``<class name>_s_<number>.png``), as Python 2 strings."""
    return [f"{names[label]}_s_{number:06d}.png".encode() for label, number in zip(labels, numbers)]


def _write_cifar_folder(folder: Path, num_classes: int, train_images: int, test_images: int, seed: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    train, test = (_cifar_split(n, num_classes, seed, split) for n, split in zip((train_images, test_images), SPLITS))
    if num_classes == 10:
        names = list(CLASSES)
        batches = np.array_split(np.arange(train_images), 5)
        for number, indices in enumerate(batches, 1):
            labels = [train[1][i] for i in indices]
            write_python2_pickle(folder / f"data_batch_{number}", {
                b"batch_label": f"training batch {number} of 5".encode(), b"labels": labels,
                b"data": train[0][indices], b"filenames": _filenames(labels, names, indices.tolist())})
        write_python2_pickle(folder / "test_batch", {
            b"batch_label": b"testing batch 1 of 1", b"labels": test[1], b"data": test[0],
            b"filenames": _filenames(test[1], names, range(train_images, train_images + test_images))})
        write_python2_pickle(folder / "batches.meta", {
            b"num_cases_per_batch": math.ceil(train_images / 5), b"label_names": [n.encode() for n in names],
            b"num_vis": 3072})
        return folder
    names = [f"{CLASSES[k % len(CLASSES)]}_{k // len(CLASSES)}" for k in range(num_classes)]
    for (rows, labels), split, first in ((train, "train", 0), (test, "test", train_images)):
        write_python2_pickle(folder / split, {
            b"filenames": _filenames(labels, names, range(first, first + len(labels))),
            b"batch_label": f"{'training' if split == 'train' else 'testing'} batch 1 of 1".encode(),
            b"fine_labels": labels, b"coarse_labels": [label // 5 for label in labels], b"data": rows})
    write_python2_pickle(folder / "meta", {b"fine_label_names": [n.encode() for n in names],
                                           b"coarse_label_names": [f"group_{k:02d}".encode() for k in range(20)]})
    return folder


# ImageNet layout ------------------------------------------------------------------------------------------------------

def wnid(label: int) -> str:
    """A WordNet-id-like class folder name for ``label``: ``n00000000``, ``n00000001``, ..."""
    return f"n{label:08d}"


def write_image_folder(root: PathLike, *, classes: int = 4, train_per_class: int, val_per_class: int,
                       seed: int = 0) -> Path:
    """An ImageNet-like folder, ``ROOT/train/<wnid>/<wnid>_<n>.JPEG`` and ``ROOT/val/<wnid>/ILSVRC2012_val_<n>.JPEG``
    (the validation images sorted into class folders, as ImageNet's are for training), with ``classes`` classes
    named like WordNet ids (:func:`wnid`) and ``train_per_class`` and ``val_per_class`` images of each; returns ROOT
    (``~`` expanded).

    The images of class ``k`` show the shape ``k % 10`` (so ``classes`` is at most 10), rendered as a square scene and
    resized (bicubic) to photo-like sizes: sides in :data:`PHOTO_SIDES`, aspect ratios in :data:`PHOTO_ASPECT`,
    landscape or portrait with equal probability (the scene is stretched to that aspect ratio). Like real ImageNet,
    each split also holds the :data:`ODDITIES`: a greyscale (mode "L") JPEG, a CMYK JPEG and a PNG file named
    ``.JPEG``, at evenly spaced positions of the split; everything else is an RGB JPEG. Scenes are rendered and saved
    :data:`.synthetic.BLOCK` at a time, so the memory does not grow with the number of images.
    """
    if not (isinstance(classes, int) and 1 <= classes <= len(CLASSES)):
        raise ValueError(f"classes={classes!r} must be an integer from 1 to {len(CLASSES)}, one shape per class")
    for name, value in (("train_per_class", train_per_class), ("val_per_class", val_per_class)):
        if not (isinstance(value, int) and classes * value >= len(ODDITIES)):
            raise ValueError(f"{name}={value!r} must be an integer with classes * {name} >= {len(ODDITIES)}, so "
                             f"that the split can hold its {len(ODDITIES)} odd files ({', '.join(ODDITIES)})")
    root = Path(root).expanduser()
    for split, folder, per_class in (("train", "train", train_per_class), ("test", "val", val_per_class)):
        generator = _generator(seed, split)
        labels = torch.arange(classes).repeat_interleave(per_class)
        sizes = _photo_sizes(len(labels), generator)
        odd = {i * len(labels) // len(ODDITIES): kind for i, kind in enumerate(ODDITIES)}
        for label in range(classes):
            (root / folder / wnid(label)).mkdir(parents=True, exist_ok=True)
        for start in range(0, len(labels), BLOCK):
            scenes = render_labelled(labels[start:start + BLOCK], RENDER_SIZE, generator)
            for index, scene in enumerate(scenes.permute(0, 2, 3, 1).contiguous().numpy(), start):
                label = int(labels[index])
                name = (f"{wnid(label)}_{index % per_class}.JPEG" if folder == "train"
                        else f"ILSVRC2012_val_{index + 1:08d}.JPEG")
                photo = Image.fromarray(scene).resize(sizes[index], Image.Resampling.BICUBIC)
                _save_photo(photo, root / folder / wnid(label) / name, odd.get(index))
    return root


def _photo_sizes(num_images: int, generator: torch.Generator) -> list[tuple[int, int]]:
    """(width, height) of ``num_images`` photos, as :func:`write_image_folder` describes."""
    low, high = PHOTO_SIDES[0], int(PHOTO_SIDES[1] / PHOTO_ASPECT[1])
    shorter = torch.randint(low, high + 1, (num_images,), generator=generator)
    aspect = torch.exp(math.log(PHOTO_ASPECT[0]) + torch.rand(num_images, generator=generator)
                       * (math.log(PHOTO_ASPECT[1]) - math.log(PHOTO_ASPECT[0])))
    longer = (shorter * aspect).floor().int()  # at most PHOTO_SIDES[1]
    landscape = torch.rand(num_images, generator=generator) < 0.5
    return [(int(long), int(short)) if wide else (int(short), int(long))
            for short, long, wide in zip(shorter, longer, landscape)]


def _save_photo(image: Image.Image, path: Path, oddity: str | None) -> None:
    """Save an RGB image at ``path`` as a JPEG, or as the :data:`ODDITIES` entry ``oddity``."""
    if oddity == "png":
        image.save(path, format="PNG")
    else:
        mode = {"greyscale": "L", "cmyk": "CMYK", None: "RGB"}[oddity]
        image.convert(mode).save(path, format="JPEG", quality=90)


# A torchvision GoogLeNet ----------------------------------------------------------------------------------------------

def write_torchvision_googlenet(path: PathLike, *, seed: int = 0) -> Path:
    """A state_dict of ``torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=True,
    num_classes=1000)`` initialized from ``seed``, saved with ``torch.save`` at ``path`` (``~`` expanded), which is
    returned: a file with the keys and shapes of torchvision's ImageNet weights (``googlenet-1378be20.pth``), for
    :func:`reproduce.evaluate.score.load_model` with ``preset="torchvision"``. The global random state is left as
    it was."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=True, num_classes=1000)
    torch.save(model.state_dict(), path)
    return path
