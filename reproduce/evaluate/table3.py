"""Table 3 of the paper in miniature: the errors of one model and of an ensemble, each with 1, 10 and 144 crops,
their cost in forward passes per image, and the change against one model with one crop.

The probabilities of every member, reduced over the crops of each image, are computed once per crop setting
(:func:`~.predict.crop_probabilities`); each row of the table then combines a prefix of the members and one crop
setting, so that the rows are scored on the same images and differ only in how many models and crops they use.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd
import torch

from ..metrics import accuracy
from .predict import CropProbabilities, combine

COLUMNS = ["models", "crops", "cost", "top1_error", "top5_error", "top1_vs_base", "top5_vs_base"]


def table3(probabilities: Mapping[int, CropProbabilities], targets: torch.Tensor, *,
           models: Sequence[int] | None = None, reduce: str = "mean") -> pd.DataFrame:
    """``probabilities``: crops -> the members' :class:`~.predict.CropProbabilities` with that many crops;
    ``targets``: (N,). One row per number of models (``models``, default: 1 and all the members; the first m members
    are used) and number of crops, in the paper's order, combined by ``reduce`` over the crops (``"mean"`` or
    ``"max"``); errors in percent, and their change against the first row in percentage points."""
    for crops, per_crop in probabilities.items():
        if per_crop.crops != crops:
            raise ValueError(f"probabilities[{crops}] holds probabilities over {per_crop.crops} crops")
    members = {p.models for p in probabilities.values()}
    if len(members) != 1:
        raise ValueError(f"every crop setting needs the same members, got {sorted(members)} models")
    available = members.pop()
    models = (1, available) if models is None else tuple(models)
    if any(not 1 <= m <= available for m in models):
        raise ValueError(f"models={models} must each be between 1 and {available}, the members given")
    rows = []
    for m in dict.fromkeys(models):
        for crops, per_crop in probabilities.items():
            scored = accuracy(combine(per_crop[:m], reduce), targets)
            rows.append({"models": m, "crops": crops, "cost": m * crops,
                         "top1_error": 100 * scored["top1_error"], "top5_error": 100 * scored["top5_error"]})
    table = pd.DataFrame(rows)
    for metric in ("top1", "top5"):
        table[f"{metric}_vs_base"] = table[f"{metric}_error"] - table[f"{metric}_error"].iloc[0]
    return table[COLUMNS]


def correct_per_image(probabilities: Mapping[int, CropProbabilities], targets: torch.Tensor, *,
                      models: Sequence[int] | None = None, reduce: str = "mean") -> dict[tuple[int, int], torch.Tensor]:
    """Top-1 correctness (0/1 per image) of every row of :func:`table3` (``{(models, crops): (N,)}``): the
    per-image outcomes that paired comparisons of the rows need (:mod:`reproduce.findings`)."""
    available = next(iter(probabilities.values())).models
    models = (1, available) if models is None else tuple(models)
    return {(m, crops): (combine(per_crop[:m], reduce).argmax(1) == targets).long()
            for m in dict.fromkeys(models) for crops, per_crop in probabilities.items()}
