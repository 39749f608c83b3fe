"""Data: the embedded data set the project generates itself (:mod:`.synthetic`), real data sets for users who have
them (:mod:`.real`), files in those real formats written from the embedded data set, to rehearse a run on them
without the real data (:mod:`.formats`), and the paper's augmentation (:mod:`.transforms`).

``datasets(name, ...)`` gives the train and evaluation splits of any of them, with the paper's training augmentation
on the train split and a single centre crop, at the scale that matches the training's geometry, on the other.
"""

from __future__ import annotations

from typing import Optional

from torch.utils.data import Dataset

#: ``"shapes"``: the embedded data set of square images of one object (no download, 10 classes, :mod:`.synthetic`);
#: ``"scenes"``: the embedded miniature of the experimental chapters (20 classes, landscape and portrait, clutter and
#: occlusion, :mod:`.scenes`); ``"cifar10"``, ``"cifar100"``: through torchvision; ``"imagefolder"``:
#: ``ROOT/train/<class>/*`` and ``ROOT/val/<class>/*``, the layout of ImageNet.
DATASETS = ("shapes", "scenes", "cifar10", "cifar100", "imagefolder")
#: The data sets the project generates itself; ``shapes_size`` is the side (``"scenes"``: the shorter side) of their
#: images.
EMBEDDED = ("shapes", "scenes")
#: The data sets whose images are all square, on which Section 7's left, centre and right squares of an image coincide
#: (the scenes are landscape and portrait; an ImageFolder's photographs are whatever they are).
SQUARE = ("shapes", "cifar10", "cifar100")


def datasets(name: str, *, root: Optional[str] = None, image_size: int = 64, eval_split: str = "val",
             download: bool = False, shapes_size: int = 64, train_images: Optional[int] = None,
             eval_images: Optional[int] = None, data_seed: int = 0,
             **augmentation) -> tuple[Dataset, Dataset]:
    """The train split with the paper's augmentation (``augmentation``: the switches of
    :func:`.transforms.paper_train_transform`) and ``eval_split`` with a single centre crop, both at
    ``image_size``; the centre crop's scale follows the ``crop`` switch (see :func:`.transforms.test_resize_ratio`).
    ``train_images`` and ``eval_images`` keep that many images of each split (all when None), chosen as
    :func:`evenly_spaced` says. Each split has ``.classes``."""
    from .transforms import paper_train_transform

    common = dict(root=root, image_size=image_size, download=download, shapes_size=shapes_size, data_seed=data_seed)
    train = _split(name, "train", train_images, paper_train_transform(image_size, **augmentation), **common)
    return train, evaluation_set(name, eval_split, num_images=eval_images, crop=augmentation.get("crop", True),
                                 **common)


def evaluation_set(name: str, split: str = "test", *, root: Optional[str] = None, image_size: int = 64,
                   download: bool = False, shapes_size: int = 64, num_images: Optional[int] = None,
                   data_seed: int = 0, crop: bool = True) -> Dataset:
    """One split of a data set with a single centre crop at ``image_size`` (``split``: ``"val"`` or ``"test"``;
    CIFAR and ImageFolder have one held-out split, which both names give), at the scale for a network trained with
    random crops (``crop=True``) or on whole images (``crop=False``), see :func:`.transforms.test_resize_ratio`.
    ``num_images`` keeps that many (all when None), chosen as :func:`evenly_spaced` says."""
    from .transforms import eval_transform, test_resize_ratio

    transform = eval_transform(image_size, resize_ratio=test_resize_ratio(crop))
    return _split(name, split, num_images, transform, root=root, image_size=image_size, download=download,
                  shapes_size=shapes_size, data_seed=data_seed)


def whole_images(name: str, split: str = "test", *, root: Optional[str] = None, download: bool = False,
                 shapes_size: int = 64, num_images: Optional[int] = None, data_seed: int = 0,
                 normalize: bool = True) -> Dataset:
    """One split with every image whole (not resized or cropped; float, normalized), for the test-time crops of
    :mod:`reproduce.evaluate`. ``num_images`` keeps that many (all when None), chosen as :func:`evenly_spaced`
    says; ``normalize=False``: the images as read, uint8 (see :func:`.transforms.whole_image_transform`)."""
    from .transforms import whole_image_transform

    return _split(name, split, num_images, whole_image_transform(normalize=normalize), root=root, image_size=shapes_size,
                  download=download, shapes_size=shapes_size, data_seed=data_seed)


def evenly_spaced(dataset: Dataset, num_images: Optional[int]) -> Dataset:
    """``num_images`` images of a real data set, evenly spaced, so that a folder sorted by class (ImageFolder) gives
    every class: those at ``i * len(dataset) // num_images`` for ``i`` from 0 to ``num_images - 1`` (computed in
    whole numbers, so no rounding error skips or repeats an image). The whole data set when ``num_images`` is None or
    not below its length; otherwise a ``Subset`` that keeps, where the data set has them, ``.classes`` and
    ``.targets`` (the labels of the kept images).

    (The embedded data set instead generates the first ``num_images`` of its split, which are balanced over the
    classes already, see :mod:`.synthetic`.)"""
    from torch.utils.data import Subset

    if num_images is None or num_images >= len(dataset):
        return dataset
    if num_images < 0:
        raise ValueError(f"num_images={num_images!r} must be a non-negative number of images or None (all of them)")
    subset = Subset(dataset, evenly_spaced_indices(len(dataset), num_images))
    if hasattr(dataset, "classes"):
        subset.classes = dataset.classes
    targets = getattr(dataset, "targets", None)
    if targets is not None:
        subset.targets = [int(targets[i]) for i in subset.indices]
    return subset


def evenly_spaced_indices(length: int, num_images: Optional[int]) -> list[int]:
    """The indices :func:`evenly_spaced` keeps: ``i * length // num_images`` for ``i`` below ``num_images`` (all of
    ``range(length)`` when ``num_images`` is None or not below ``length``)."""
    if num_images is None or num_images >= length:
        return list(range(length))
    if num_images < 0:
        raise ValueError(f"num_images={num_images!r} must be a non-negative number of images or None (all of them)")
    return [i * length // num_images for i in range(num_images)]


def _split(name, split, num_images, transform, *, root, image_size, download, shapes_size, data_seed) -> Dataset:
    """``num_images`` images (all when None) of one split of data set ``name``, through ``transform``."""
    if name not in DATASETS:
        raise ValueError(f"dataset={name!r} is not one of {DATASETS}")
    if name == "shapes":
        from .synthetic import EmbeddedShapes

        return EmbeddedShapes(split, num_images=num_images, transform=transform, image_size=shapes_size,
                              seed=data_seed)
    if name == "scenes":
        from .scenes import EmbeddedScenes

        return EmbeddedScenes(split, num_images=num_images, transform=transform, image_size=shapes_size,
                              seed=data_seed)
    from . import real

    if root is None:
        raise ValueError(f"dataset={name!r} needs a root folder (data_root / --data-root)")
    if name in ("cifar10", "cifar100"):
        classes = 10 if name == "cifar10" else 100
        dataset = real.cifar(root, split, num_classes=classes, download=download, transform=transform)
    else:
        dataset = real.image_folder(root, split, transform=transform)
    return evenly_spaced(dataset, num_images)
