"""Predictions as Section 7 makes them: softmax probabilities averaged over the crops of an image and over the models
of an ensemble.

``predict`` scores a batch of whole images (not yet cropped) with one or more models. Crops are cut from each image
as :mod:`.crops` describes, every crop goes through every model, and the probabilities are combined: the mean over
crops (the paper's choice) or the max over crops (the alternative the paper reports as worse), then the mean over
models.
"""

from __future__ import annotations

import copy
from typing import Callable, Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state

from .crops import PAPER_CROP, center_crop, paper_crops_144, ten_crops

#: Number of crops -> the function that cuts them: (N, C, H, W) -> (N, crops, C, size, size).
CROPS: dict[int, Callable[..., torch.Tensor]] = {1: center_crop, 10: ten_crops, 144: paper_crops_144}
REDUCTIONS = ("mean", "max")
ENSEMBLE_METHODS = ("loop", "vmap")


def cut_crops(images: torch.Tensor, crops: int, size: int = PAPER_CROP) -> torch.Tensor:
    """``crops`` (1, 10 or 144) crops of each image: (N, C, H, W) -> (N, crops, C, size, size)."""
    if crops not in CROPS:
        raise ValueError(f"crops={crops!r} is not one of {tuple(CROPS)}")
    return CROPS[crops](images, size)


class Ensemble(nn.Module):
    """Models with the same architecture, run on the same input; ``forward`` returns their logits stacked,
    (models, N, classes).

    ``method="loop"`` runs them one after another; ``"vmap"`` stacks their weights and runs all of them in one
    vectorized call (``torch.func.stack_module_state`` + ``vmap``). Both give the same numbers; which is faster
    depends on the device and the batch (measured in the Evaluation chapter).
    """

    def __init__(self, models: Sequence[nn.Module], method: str = "loop"):
        super().__init__()
        if method not in ENSEMBLE_METHODS:
            raise ValueError(f"method={method!r} is not one of {ENSEMBLE_METHODS}")
        if not models:
            raise ValueError("an ensemble needs at least one model")
        self.models = nn.ModuleList(models)
        self.method = method

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.method == "loop" or len(self.models) == 1:
            return torch.stack([model(x) for model in self.models])
        # The weights are stacked at every call, so that the ensemble always runs the models' current weights.
        params, buffers = stack_module_state(list(self.models))
        skeleton = copy.deepcopy(self.models[0]).to("meta")

        def one(p, b, inputs):
            return functional_call(skeleton, (p, b), (inputs,))

        return torch.vmap(one, in_dims=(0, 0, None))(params, buffers, x)


@torch.no_grad()
def predict(models: nn.Module | Sequence[nn.Module], images: torch.Tensor | Sequence[torch.Tensor], *,
            crops: int = 1, size: int = PAPER_CROP, reduce: str = "mean", batch_size: int = 512,
            method: str = "loop") -> torch.Tensor:
    """Class probabilities (N, classes) for ``images`` (N, C, H, W, or a list of C, H, W images of any sizes; float
    and normalized like the training data):
    softmax of every model on every crop, reduced over crops by ``reduce`` (``"mean"``: the paper's; ``"max"``),
    then averaged over models (after ``"max"`` the rows no longer sum to 1; their ranking is what counts).
    ``batch_size`` bounds the crops sent through the models at once."""
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce={reduce!r} is not one of {REDUCTIONS}")
    ensemble = models if isinstance(models, Ensemble) else Ensemble(
        [models] if isinstance(models, nn.Module) else list(models), method=method)
    ensemble.eval()
    if isinstance(images, torch.Tensor):
        cut = cut_crops(images, crops, size)  # (N, K, C, S, S)
    else:  # a list of images of different sizes: each is cropped on its own
        cut = torch.cat([cut_crops(image[None], crops, size) for image in images])
    n, k = cut.shape[:2]
    flat = cut.flatten(0, 1)
    parameter = next(ensemble.parameters())
    probabilities = []
    for start in range(0, len(flat), batch_size):
        chunk = flat[start:start + batch_size].to(parameter.device).contiguous(memory_format=torch.channels_last)
        probabilities.append(ensemble(chunk).float().softmax(-1).cpu())  # (models, chunk, classes)
    per_crop = torch.cat(probabilities, 1).unflatten(1, (n, k))  # (models, N, K, classes)
    combined = per_crop.mean(2) if reduce == "mean" else per_crop.amax(2)
    return combined.mean(0)
