"""Top-k accuracy, the paper's measure (Section 7 reports top-1 and top-5 error)."""

from __future__ import annotations

import torch


def topk_correct(scores: torch.Tensor, targets: torch.Tensor, ks: tuple[int, ...] = (1, 5)) -> dict[int, torch.Tensor]:
    """For each k, a boolean per example: is the target among the k highest scores? (k is capped at the number of
    classes.)"""
    largest = min(max(ks), scores.shape[1])
    top = scores.topk(largest, dim=1).indices
    hits = top == targets[:, None]
    return {k: hits[:, :min(k, scores.shape[1])].any(1) for k in ks}


def accuracy(scores: torch.Tensor, targets: torch.Tensor, classes: list[str] | None = None) -> dict:
    """Top-1 and top-5 accuracy and error (the paper reports errors) over all examples, and per class:
    ``{"top1", "top5", "top1_error", "top5_error", "count", "per_class": {class: {"top1", "top5", "count"}}}``."""
    if len(scores) != len(targets) or len(targets) == 0:
        raise ValueError(f"need as many targets as rows of scores, and at least one: {len(scores)} vs "
                         f"{len(targets)}")
    hits = topk_correct(scores, targets)
    names = classes if classes is not None else [str(c) for c in range(scores.shape[1])]
    per_class = {}
    for label, name in enumerate(names):
        mine = targets == label
        if mine.any():
            per_class[name] = {"top1": hits[1][mine].float().mean().item(),
                               "top5": hits[5][mine].float().mean().item(), "count": int(mine.sum())}
    top1, top5 = hits[1].float().mean().item(), hits[5].float().mean().item()
    return {"top1": top1, "top5": top5, "top1_error": 1 - top1, "top5_error": 1 - top5, "count": len(targets),
            "per_class": per_class}
