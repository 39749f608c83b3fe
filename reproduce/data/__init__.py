"""Data: the embedded data set the project generates itself (:mod:`.synthetic`), real data sets for users who have
them (:mod:`.real`), and the paper's augmentation (:mod:`.transforms`).

``datasets(name, ...)`` gives the train and evaluation splits of any of them, with the paper's training augmentation
on the train split and a single centre crop on the other.
"""

from __future__ import annotations

from typing import Optional

from torch.utils.data import Dataset

#: ``"shapes"``: the embedded data set (no download, 10 classes); ``"cifar10"``, ``"cifar100"``: through torchvision;
#: ``"imagefolder"``: ``ROOT/train/<class>/*`` and ``ROOT/val/<class>/*``, the layout of ImageNet.
DATASETS = ("shapes", "cifar10", "cifar100", "imagefolder")


def datasets(name: str, *, root: Optional[str] = None, image_size: int = 64, eval_split: str = "val",
             download: bool = False, shapes_size: int = 64, train_images: Optional[int] = None,
             eval_images: Optional[int] = None, data_seed: int = 0,
             **augmentation) -> tuple[Dataset, Dataset]:
    """The train split with the paper's augmentation (``augmentation``: the switches of
    :func:`.transforms.paper_train_transform`) and ``eval_split`` with a single centre crop, both at
    ``image_size``. Each has ``.classes``."""
    from .transforms import paper_train_transform

    common = dict(root=root, image_size=image_size, download=download, shapes_size=shapes_size, data_seed=data_seed)
    train = _split(name, "train", train_images, paper_train_transform(image_size, **augmentation), **common)
    return train, evaluation_set(name, eval_split, num_images=eval_images, **common)


def evaluation_set(name: str, split: str = "test", *, root: Optional[str] = None, image_size: int = 64,
                   download: bool = False, shapes_size: int = 64, num_images: Optional[int] = None,
                   data_seed: int = 0) -> Dataset:
    """One split of a data set with a single centre crop at ``image_size`` (``split``: ``"val"`` or ``"test"``;
    CIFAR and ImageFolder have one held-out split, which both names give)."""
    from .transforms import eval_transform

    return _split(name, split, num_images, eval_transform(image_size), root=root, image_size=image_size,
                  download=download, shapes_size=shapes_size, data_seed=data_seed)


def whole_images(name: str, split: str = "test", *, root: Optional[str] = None, download: bool = False,
                 shapes_size: int = 64, num_images: Optional[int] = None, data_seed: int = 0) -> Dataset:
    """One split with every image whole (not resized or cropped; float, normalized), for the test-time crops of
    :mod:`reproduce.evaluate`. ``num_images`` keeps that many (all of them when None): the first ones of the embedded
    data set, and evenly spaced ones of a real data set, so that a folder sorted by class gives every class."""
    from torch.utils.data import Subset

    from .transforms import whole_image_transform

    dataset = _split(name, split, num_images if name == "shapes" else None, whole_image_transform(), root=root,
                     image_size=shapes_size, download=download, shapes_size=shapes_size, data_seed=data_seed)
    if name != "shapes" and num_images is not None and num_images < len(dataset):
        classes = dataset.classes
        step = len(dataset) / num_images
        dataset = Subset(dataset, [int(i * step) for i in range(num_images)])
        dataset.classes = classes
    return dataset


def _split(name, split, num_images, transform, *, root, image_size, download, shapes_size, data_seed) -> Dataset:
    if name not in DATASETS:
        raise ValueError(f"dataset={name!r} is not one of {DATASETS}")
    if name == "shapes":
        from .synthetic import EmbeddedShapes

        return EmbeddedShapes(split, num_images=num_images, transform=transform, image_size=shapes_size,
                              seed=data_seed)
    from . import real

    if root is None:
        raise ValueError(f"dataset={name!r} needs a root folder (data_root / --data-root)")
    if name in ("cifar10", "cifar100"):
        classes = 10 if name == "cifar10" else 100
        return real.cifar(root, split, num_classes=classes, download=download, transform=transform)
    return real.image_folder(root, split, transform=transform)
