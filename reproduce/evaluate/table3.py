"""Table 3 of the paper in miniature: the errors of one model and of an ensemble, each with 1, 10 and 144 crops,
their cost in forward passes per image, and the change against one model with one crop.

The probabilities of every member, reduced over the crops of each image, are computed once per crop setting
(:func:`~.predict.crop_probabilities`); each row of the table then combines the members and one crop setting, so
that the rows are scored on the same images and differ only in how many models and crops they use. "One model" is
each member alone, averaged over the members: the error to expect of a single network, which a rebuild that trains
the members anew estimates again (the first member alone would be one draw of it); "m models" is the ensemble of the
first m members.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from ..metrics import accuracy
from .kept import keep_folder, kept_crop_probabilities, select
from .predict import CropProbabilities, combine, crop_probabilities

COLUMNS = ["models", "crops", "cost", "top1_error", "top5_error", "top1_vs_base", "top5_vs_base"]


def _members(probabilities: Mapping[int, CropProbabilities], models: Sequence[int] | None) -> tuple[int, tuple]:
    for crops, per_crop in probabilities.items():
        if per_crop.crops != crops:
            raise ValueError(f"probabilities[{crops}] holds probabilities over {per_crop.crops} crops")
    members = {p.models for p in probabilities.values()}
    if len(members) != 1:
        raise ValueError(f"every crop setting needs the same members, got {sorted(members)} models")
    available = members.pop()
    models = (1, available) if models is None else tuple(dict.fromkeys(models))
    if any(not 1 <= m <= available for m in models):
        raise ValueError(f"models={models} must each be between 1 and {available}, the members given")
    return available, models


def table3(probabilities: Mapping[int, CropProbabilities], targets: torch.Tensor, *,
           models: Sequence[int] | None = None, reduce: str = "mean") -> pd.DataFrame:
    """``probabilities``: crops -> the members' :class:`~.predict.CropProbabilities` with that many crops;
    ``targets``: (N,). One row per number of models (``models``, default: 1 and all the members) and number of
    crops, in the paper's order, combined by ``reduce`` over the crops (``"mean"`` or ``"max"``): for one model the
    mean of the members' errors, for m models the error of the ensemble of the first m; errors in percent, and their
    change against the first row in percentage points."""
    available, models = _members(probabilities, models)
    rows = []
    for m in models:
        for crops, per_crop in probabilities.items():
            scored = ([accuracy(combine(per_crop[k], reduce), targets) for k in range(available)] if m == 1
                      else [accuracy(combine(per_crop[:m], reduce), targets)])
            rows.append({"models": m, "crops": crops, "cost": m * crops,
                         **{f"{metric}_error": 100 * float(np.mean([s[f"{metric}_error"] for s in scored]))
                            for metric in ("top1", "top5")}})
    table = pd.DataFrame(rows)
    for metric in ("top1", "top5"):
        table[f"{metric}_vs_base"] = table[f"{metric}_error"] - table[f"{metric}_error"].iloc[0]
    return table[COLUMNS]


Outcome = Callable[[Sequence[int]], np.ndarray]


def outcomes(probabilities: Mapping[int, CropProbabilities], targets: torch.Tensor, *,
             models: Sequence[int] | None = None, reduce: str = "mean") -> dict[tuple[int, int], Outcome]:
    """The per-image top-1 correctness of every row of :func:`table3` (``{(models, crops): outcome}``) as a function
    of the members it is scored with (``outcome(indices)`` -> (N,)): for one model the mean over those members of
    each one's correctness (0 to 1), for m models the correctness (0 or 1) of the ensemble of the first m of them.
    The mean of ``outcome(all members)`` is the row's top-1 accuracy; what the row's estimate would be with other
    members is what the intervals of :func:`reproduce.analysis.findings.members_and_images` need."""
    _, models = _members(probabilities, models)
    targets = targets.cpu()

    def row(m: int, per_crop: CropProbabilities) -> Outcome:
        def outcome(members: Sequence[int]) -> np.ndarray:
            chosen = per_crop.reduced(reduce)[list(members)].cpu()
            if m == 1:
                return (chosen.argmax(2) == targets).double().mean(0).numpy()
            return (chosen[:m].mean(0).argmax(1) == targets).double().numpy()
        return outcome

    return {(m, crops): row(m, per_crop) for m in models for crops, per_crop in probabilities.items()}


@dataclass
class CropSettings:
    """The members' probabilities for every crop setting: ``every_image`` holds the settings of at most 10 crops on
    all the test images, ``on_subset`` every setting on the images ``subset`` selects (more crops cost too much for
    all of them); ``seconds`` the time each setting took."""

    every_image: dict[int, CropProbabilities]
    on_subset: dict[int, CropProbabilities]
    subset: list[int]
    seconds: dict[int, float]


def score_crop_settings(models: Sequence[torch.nn.Module], images, crop_counts: Sequence[int], subset: Sequence[int],
                        *, size: int, resize_ratio: float, num_workers: int = 0,
                        keep: str | Path | None = None) -> CropSettings:
    """Each of ``crop_counts`` crops of every image (settings of more than 10 crops: of the ``subset`` only) through
    every model (:func:`~.predict.crop_probabilities`, each image's softmax outputs reduced over its crops as they
    come), the 1 and 10 crops cut at ``resize_ratio`` times ``size`` (the scale the models were trained at). The
    images of a data set are read as they are scored, the subset's too, so that none is held longer than its batch.

    With ``keep`` (a folder), each setting is kept in ``KEEP/<crops>-crops`` block by block as it is computed and
    shared out over the processes of a process group (:func:`~.kept.kept_crop_probabilities`): an interrupted scoring
    resumes at the block it stopped in, and a scoring that another process (or run) finished is read back."""
    subset = list(subset)
    probabilities, seconds = {}, {}
    for crops in crop_counts:
        scored = images if crops <= 10 else select(images, subset)
        options = dict(crops=crops, size=size, resize_ratio=resize_ratio, num_workers=num_workers)
        if keep is None:
            started = time.perf_counter()
            probabilities[crops] = crop_probabilities(models, scored, **options)
            seconds[crops] = time.perf_counter() - started
        else:
            probabilities[crops], seconds[crops] = kept_crop_probabilities(models, scored, keep_folder(keep, crops),
                                                                           **options)
    return CropSettings({c: p for c, p in probabilities.items() if c <= 10},
                        {c: (p if c > 10 else p.images(subset)) for c, p in probabilities.items()}, subset, seconds)


def score_test_split(models: Sequence[torch.nn.Module], config, *, test_images: int | None,
                     many_crop_images: int | None, crop_counts: Sequence[int],
                     keep: str | Path | None = None) -> tuple[CropSettings, torch.Tensor]:
    """Table 3's scoring of the test split of ``config``'s data set (a
    :class:`~reproduce.training.TrainConfig`, the members'): ``test_images`` whole images (evenly spaced; None: all)
    with each of ``crop_counts`` crops through every model, the settings of more than 10 crops on
    ``many_crop_images`` of them (evenly spaced; None: all), the 1 and 10 crops at the scale the members trained at
    (:func:`~reproduce.data.transforms.test_resize_ratio` of ``config.crop``); ``keep``: the folder the settings are
    kept in as they are computed (see :func:`score_crop_settings`). Returns the settings and the images' classes."""
    from ..data import evenly_spaced_indices, whole_images
    from ..data.transforms import test_resize_ratio
    from .score import images_and_targets

    test = whole_images(config.dataset, "test", root=config.data_root, shapes_size=config.shapes_size,
                        num_images=test_images, data_seed=config.data_seed, normalize=False)  # uint8 from workers
    images, targets = images_and_targets(test)
    settings = score_crop_settings(models, images, crop_counts, evenly_spaced_indices(len(targets), many_crop_images),
                                   size=config.image_size, resize_ratio=test_resize_ratio(config.crop),
                                   num_workers=config.num_workers, keep=keep)
    return settings, targets
