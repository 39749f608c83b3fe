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
from tqdm import tqdm

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
def crop_probabilities(models: nn.Module | Sequence[nn.Module], images: torch.Tensor | Sequence[torch.Tensor], *,
                       crops: int = 1, size: int = PAPER_CROP, batch_size: int = 512, method: str = "loop",
                       progress: bool = False) -> torch.Tensor:
    """The softmax of every model on every crop, not yet combined: (models, N, crops, classes), on the CPU.
    ``images``: (N, C, H, W), or a list of C, H, W images of any sizes, float and normalized like the training data.
    The crops of about ``batch_size // crops`` images at a time are cut and sent through the models, so memory stays
    bounded however many images there are."""
    ensemble = models if isinstance(models, Ensemble) else Ensemble(
        [models] if isinstance(models, nn.Module) else list(models), method=method)
    ensemble.eval()
    parameter = next(ensemble.parameters())
    per_chunk = max(1, batch_size // crops)
    chunks = []
    for start in tqdm(range(0, len(images), per_chunk), desc=f"{crops} crop(s)", unit="batch", disable=not progress,
                      leave=False):
        part = images[start:start + per_chunk]
        if not isinstance(part, torch.Tensor) and len({tuple(image.shape) for image in part}) == 1:
            part = torch.stack(list(part))  # one size: cropped together
        if isinstance(part, torch.Tensor):
            cut = cut_crops(part, crops, size)  # (n, K, C, S, S)
        else:  # images of different sizes: each is cropped on its own
            cut = torch.cat([cut_crops(image[None], crops, size) for image in part])
        flat = cut.flatten(0, 1).to(parameter.device).contiguous(memory_format=torch.channels_last)
        logits = ensemble(flat).float()  # (models, n * K, classes)
        chunks.append(logits.softmax(-1).cpu().unflatten(1, cut.shape[:2]))
    return torch.cat(chunks, 1)


def combine(probabilities: torch.Tensor, reduce: str = "mean") -> torch.Tensor:
    """(models, N, crops, classes) -> (N, classes): ``reduce`` over the crops (``"mean"``: the paper's; ``"max"``),
    then the mean over the models (after ``"max"`` the rows no longer sum to 1; their ranking is what counts)."""
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce={reduce!r} is not one of {REDUCTIONS}")
    per_model = probabilities.mean(2) if reduce == "mean" else probabilities.amax(2)
    return per_model.mean(0)


def predict(models: nn.Module | Sequence[nn.Module], images: torch.Tensor | Sequence[torch.Tensor], *,
            crops: int = 1, size: int = PAPER_CROP, reduce: str = "mean", batch_size: int = 512,
            method: str = "loop") -> torch.Tensor:
    """Class probabilities (N, classes) for ``images``: :func:`crop_probabilities` combined by :func:`combine`."""
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce={reduce!r} is not one of {REDUCTIONS}")
    return combine(crop_probabilities(models, images, crops=crops, size=size, batch_size=batch_size, method=method),
                   reduce)
