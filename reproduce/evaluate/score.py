"""Scoring a trained GoogLeNet on an ImageFolder split with Section 7's crops: the backend of
``python -m reproduce evaluate``.

A model comes from a checkpoint file: a run of ``reproduce.training`` (``preset="reproduce"``: its Polyak-averaged
weights by default) or a ``torchvision.models.googlenet`` state_dict (``preset="torchvision"``, e.g. the ported
ImageNet weights, loaded into :func:`reproduce.googlenet_torchvision` with ``transform_input=True``).
"""

from __future__ import annotations

import time
from pathlib import Path
from collections.abc import Sequence
from typing import Optional

import torch
from torch import nn
from torch.utils.data import Subset

from .. import checkpoints
from ..checkpoints import load_trained
from ..data import real
from ..data.transforms import TEST_RESIZE_RATIO, whole_image_transform
from ..metrics import accuracy
from ..models import googlenet_torchvision
from .predict import REDUCTIONS, DatasetImages, Ensemble, combine, crop_probabilities

PRESETS = ("reproduce", "torchvision")


def load_model(checkpoint: str | Path, *, preset: str = "reproduce", which: str = "polyak") -> tuple[nn.Module, dict]:
    """The model in ``checkpoint`` (eval mode, CPU) and what the file says about it: ``{"classes": [...] or None,
    "image_size": int or None, "crop": bool}``, ``crop`` telling whether it was trained on random crops (as
    torchvision's ImageNet weights were) or on whole images."""
    if preset not in PRESETS:
        raise ValueError(f"preset={preset!r} is not one of {PRESETS}")
    path = Path(checkpoint).expanduser()
    if path.is_dir():  # a run's folder
        path = path / "checkpoint.pt"
    if not path.is_file():
        raise FileNotFoundError(f"there is no checkpoint file {path}")
    if preset == "reproduce":
        model, state = load_trained(path, which=which)
        return model, {"classes": state["classes"], "image_size": state["config"]["image_size"],
                       "crop": bool(state["config"].get("crop", True))}
    state = checkpoints.load(path)  # an unreadable file: an error that names it and the cause
    if "fc.weight" not in state:
        raise ValueError(f"{path} is not a torchvision GoogLeNet state_dict (it has no 'fc.weight'); for a run of "
                         f"reproduce.training use preset='reproduce'")
    model = googlenet_torchvision(state["fc.weight"].shape[0], aux_heads=any(k.startswith("aux") for k in state),
                                  transform_input=True)
    model.load_state_dict(state)
    return model.eval(), {"classes": None, "image_size": None, "crop": True}


@torch.no_grad()
def score_folder(models: nn.Module | Sequence[nn.Module], root: str | Path, *, split: str = "val", crops: int = 1,
                 size: int = 224, resize_ratio: float = TEST_RESIZE_RATIO, reduce: str = "mean",
                 images_per_batch: Optional[int] = None, device: str = "cpu", num_workers: int = 0,
                 limit: Optional[int] = None, progress: bool = True, method: str = "loop",
                 max_unreadable: float = real.MAX_UNREADABLE_SHARE) -> dict:
    """Top-1/top-5 accuracy and error (overall and per class) of ``models`` (one, or an ensemble whose softmax
    outputs are averaged) on ``ROOT/<split>`` with ``crops`` crops per image, scored by
    :func:`~.predict.crop_probabilities` (images read by ``num_workers`` DataLoader processes, ``images_per_batch``
    cut at once, None: as many as its budget allows; ``resize_ratio``: the scale of the 1 and 10 crops); ``limit``
    scores only the first images (in the folder's order).

    An image that cannot be read does not stop the run: it is left out of every number, named on stderr and in the
    result (``"unreadable"``: ``[{"path", "cause"}]``, ``"unreadable_count"``). More than ``max_unreadable`` of the
    images (a share), or none readable among the first ones, stops it with
    :class:`~reproduce.data.real.TooManyUnreadableImagesError`."""
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce={reduce!r} is not one of {REDUCTIONS}")
    dataset = real.image_folder(root, split, transform=whole_image_transform(normalize=False))  # uint8
    classes = dataset.classes
    if limit is not None:
        dataset = Subset(dataset, range(min(limit, len(dataset))))
    members = [models] if isinstance(models, nn.Module) else list(models)
    ensemble = Ensemble([m.to(device).to(memory_format=torch.channels_last).eval() for m in members], method)
    real.check_first_images(dataset)
    images, targets = images_and_targets(dataset)
    started = time.perf_counter()
    probabilities = crop_probabilities(ensemble, images, crops=crops, size=size, resize_ratio=resize_ratio,
                                       images_at_once=images_per_batch, num_workers=num_workers, progress=progress)
    seconds = time.perf_counter() - started
    scores = combine(probabilities, reduce)
    unreadable = _unreadable(dataset, scores, max_unreadable)
    keep = torch.ones(len(scores), dtype=torch.bool)
    keep[[u["index"] for u in unreadable]] = False
    result = accuracy(scores[keep], targets[keep], classes)
    return {**result, "unreadable": [{"path": u["path"], "cause": u["cause"]} for u in unreadable],
            "unreadable_count": len(unreadable),
            "classes": list(classes), "crops": crops, "reduce": reduce, "models": len(members), "size": size,
            "resize_ratio": resize_ratio if crops != 144 else None,
            "forward_passes_per_image": crops * len(members), "seconds": seconds}


def _unreadable(dataset, scores: torch.Tensor, max_share: float) -> list[dict]:
    """The images whose scores are NaN because they could not be read (:class:`~.predict.DatasetImages`), each read
    again here for its cause and named on stderr; an image that can be read but scored NaN is the model's fault and
    raises ``FloatingPointError``; more than ``max_share`` of the images, a ``TooManyUnreadableImagesError``."""
    import sys

    found = []
    for index in torch.isnan(scores).any(1).nonzero().flatten().tolist():
        path = real.image_path(dataset, index)
        try:
            real.load_rgb_image(path) if path is not None else dataset[index]
        except real.UnreadableImageError as error:
            found.append({"index": index, "path": path, "cause": str(error)})
            print(f"skipped: {error}", file=sys.stderr)
            continue
        raise FloatingPointError(f"the model's scores for image {index} ({path}) are NaN, though the image reads")
    if len(found) > max_share * len(scores):
        raise real.TooManyUnreadableImagesError(
            f"{len(found)} of the {len(scores)} images cannot be read, more than the {max_share:.2%} a run may skip "
            f"(the first: {found[0]['cause']}); check the folder, or raise the share (--max-unreadable)")
    return found


def _labels(dataset) -> Optional[list[int]]:
    """The labels of a data set without reading its images, where it keeps them (torchvision's data sets, the
    embedded one, and subsets of these); None otherwise."""
    if isinstance(dataset, Subset):
        labels = _labels(dataset.dataset)
        return None if labels is None else [labels[i] for i in dataset.indices]
    labels = getattr(dataset, "targets", None)
    return None if labels is None else [int(label) for label in labels]


def images_and_targets(dataset) -> tuple[Sequence[torch.Tensor], torch.Tensor]:
    """The images of ``dataset`` (image, label), as a :class:`~.predict.DatasetImages` that reads them when they are
    cropped, and its labels as a tensor. A data set that does not keep its labels apart is read once here, into a
    list."""
    labels = _labels(dataset)
    if labels is not None:
        return DatasetImages(dataset), torch.tensor(labels, dtype=torch.int64)
    images, targets = zip(*(dataset[i] for i in range(len(dataset))))
    return list(images), torch.tensor(targets)
