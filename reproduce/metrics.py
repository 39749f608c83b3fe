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
