"""A linear classifier on raw pixels: the floor a convolutional network must clear on a data set.

Multinomial logistic regression on the flattened, standardized pixels, fitted with full-batch L-BFGS
(``torch.optim.LBFGS``) and a small L2 penalty. If it scores close to the network, the data set does not need
what the paper argues for (features at several scales, invariance to position and colour).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _features(images: torch.Tensor, mean=None, std=None):
    x = images.flatten(1).float() / 255
    if mean is None:
        mean, std = x.mean(0), x.std(0).clamp_min(1e-3)
    return (x - mean) / std, mean, std


def linear_classifier_accuracy(train_images: torch.Tensor, train_labels: torch.Tensor, test_images: torch.Tensor,
                               test_labels: torch.Tensor, *, l2: float = 1e-3, iterations: int = 100) -> dict:
    """Fit on the train images (uint8, N x C x H x W) and return train and test top-1 accuracy."""
    x, mean, std = _features(train_images)
    classes = int(max(train_labels.max(), test_labels.max())) + 1
    weight = torch.zeros(x.shape[1], classes, requires_grad=True)
    bias = torch.zeros(classes, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=iterations, history_size=20,
                                  line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(x @ weight + bias, train_labels) + l2 * weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        test_x, _, _ = _features(test_images, mean, std)
        return {"train_top1": ((x @ weight + bias).argmax(1) == train_labels).float().mean().item(),
                "test_top1": ((test_x @ weight + bias).argmax(1) == test_labels).float().mean().item()}


def against_chance(test_top1: float, test_images: int, classes: int) -> str:
    """The linear classifier's test top-1 against chance (1 / ``classes``), in words generated from the numbers: the
    accuracy with its 95% interval over the ``test_images`` (Wilson's) and whether that interval lies above chance."""
    from scipy import stats

    correct = round(test_top1 * test_images)
    interval = stats.binomtest(correct, test_images).proportion_ci(confidence_level=0.95, method="wilson")
    chance = 1 / classes
    measured = (f"On the {test_images:,} test images it reaches {test_top1:.1%} top-1 (95% CI {interval.low:.1%} to "
                f"{interval.high:.1%}), where chance is {chance:.0%}")
    if interval.low > chance:
        return f"{measured}: {test_top1 / chance:.1f} times chance, far from solving the data set." \
            if test_top1 < 0.5 else f"{measured}: above chance, and the pixels alone go a long way."
    return f"{measured}: its interval includes chance."
