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


def ranked(ranks: list[int], classes: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores over ``classes`` classes, the same descending scores in every row, and the targets that put each row's
    target at the given rank (1: the highest score)."""
    scores = torch.arange(classes, 0, -1, dtype=torch.float32).repeat(len(ranks), 1)
    return scores, torch.tensor([rank - 1 for rank in ranks])


def test_top_k_counts_a_target_at_rank_k_and_not_one_at_rank_k_plus_1():
    scores, targets = ranked([1, 2, 5, 6])
    result = accuracy(scores, targets)
    assert (result["top1"], result["top5"]) == (1 / 4, 3 / 4)
    per_class = [result["per_class"][name] for name in ("0", "1", "4", "5")]  # the targets' classes
    assert [(c["top1"], c["top5"]) for c in per_class] == [(1.0, 1.0), (0.0, 1.0), (0.0, 1.0), (0.0, 0.0)]


def test_the_metrics_a_run_logs_count_top_1_and_top_5_alike():
    from reproduce.training.loop import split_metrics

    scores, targets = ranked([1, 2, 5, 6, 6])
    batches = [(scores[:3], targets[:3]), (scores[3:], targets[3:])]  # what the model (here the identity) scores
    metrics = split_metrics(torch.nn.Identity(), batches, torch.device("cpu"))
    assert (metrics["top1"], metrics["top5"]) == (pytest.approx(1 / 5), pytest.approx(3 / 5))
    assert metrics["loss"] == pytest.approx(torch.nn.functional.cross_entropy(scores, targets).item())
