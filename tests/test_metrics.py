"""Top-1/top-5 accuracy and error, overall and per class."""

import pytest
import torch

from reproduce.metrics import accuracy


def test_accuracy_overall_and_per_class():
    scores = torch.tensor([[0.9, 0.1, 0.0, 0.0, 0.0, 0.0],    # class 0, right
                           [0.1, 0.2, 0.7, 0.0, 0.0, 0.0],    # class 0, ranked third: right in top-5 only
                           [0.1, -1., 0.1, 0.1, 0.2, 0.5],    # class 1, ranked last of six: wrong in top-5 too
                           [0.0, 0.8, 0.2, 0.0, 0.0, 0.0]])   # class 1, right
    targets = torch.tensor([0, 0, 1, 1])
    result = accuracy(scores, targets, ["a", "b", "c", "d", "e", "f"])
    assert result["top1"] == 0.5 and result["top1_error"] == 0.5
    assert result["top5"] == 0.75 and result["top5_error"] == pytest.approx(0.25)
    assert result["per_class"] == {"a": {"top1": 0.5, "top5": 1.0, "count": 2},
                                   "b": {"top1": 0.5, "top5": 0.5, "count": 2}}


def test_accuracy_rejects_mismatched_inputs():
    with pytest.raises(ValueError, match="targets"):
        accuracy(torch.zeros(3, 4), torch.zeros(2, dtype=torch.long))
