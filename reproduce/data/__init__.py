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
    from .transforms import eval_transform, paper_train_transform

    if name not in DATASETS:
        raise ValueError(f"dataset={name!r} is not one of {DATASETS}")
    train_transform = paper_train_transform(image_size, **augmentation)
    test_transform = eval_transform(image_size)
    if name == "shapes":
        from .synthetic import EmbeddedShapes

        common = dict(image_size=shapes_size, seed=data_seed)
        return (EmbeddedShapes("train", num_images=train_images, transform=train_transform, **common),
                EmbeddedShapes(eval_split, num_images=eval_images, transform=test_transform, **common))
    from . import real

    if root is None:
        raise ValueError(f"dataset={name!r} needs a root folder (data_root / --data-root)")
    if name in ("cifar10", "cifar100"):
        classes = 10 if name == "cifar10" else 100
        return (real.cifar(root, "train", num_classes=classes, download=download, transform=train_transform),
                real.cifar(root, eval_split, num_classes=classes, download=download, transform=test_transform))
    return (real.image_folder(root, "train", transform=train_transform),
            real.image_folder(root, eval_split, transform=test_transform))
