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


#: Bytes of the first layer's output per forward pass that :func:`default_batch_size` aims at on the CPU. Batches
#: larger than the caches are slower per crop there: at 224 px the torchvision-compatible GoogLeNet ran 47 crops/s in
#: batches of 8 and 27 crops/s in batches of 144 on the 2-core CPU of the book's machines.
CPU_ACTIVATION_BYTES = 16 * 2 ** 20


#: Bytes of crops cut at once, before they go through the models: the 144 crops of four 64 px images, or of one
#: 224 px image. Cutting several small images together saves per-call work; beyond the caches it costs again (on the
#: book's 2-core CPU, 144 crops of 64 px cost 4.7 ms per image cut alone, 2.0 ms four at a time, 4.2 ms sixteen).
CROP_BYTES = 32 * 2 ** 20


def images_per_cut(crops: int, size: int) -> int:
    """How many images :func:`crop_probabilities` cuts at once: as many as keep their crops within
    :data:`CROP_BYTES`, at least one."""
    return max(1, CROP_BYTES // (crops * 3 * size * size * 4))


def default_batch_size(model: nn.Module, size: int, device: torch.device | str = "cpu") -> int:
    """Crops per forward pass: 512 on a GPU; on the CPU as many as keep the first convolution's output within
    :data:`CPU_ACTIVATION_BYTES` (5 crops at 224 px for the full-width network, 256 at 64 px for width 0.25)."""
    if torch.device(device).type != "cpu":
        return 512
    first = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if first is None:
        return 512
    side = size // first.stride[0]
    return int(min(512, max(1, CPU_ACTIVATION_BYTES // (4 * first.out_channels * side * side))))


@torch.no_grad()
def crop_probabilities(models: nn.Module | Sequence[nn.Module], images: torch.Tensor | Sequence[torch.Tensor], *,
                       crops: int = 1, size: int = PAPER_CROP, batch_size: int | None = None, method: str = "loop",
                       amp: bool | None = None, progress: bool = False) -> torch.Tensor:
    """The softmax of every model on every crop, not yet combined: (models, N, crops, classes), on the CPU.
    ``images``: (N, C, H, W), or a list of C, H, W images of any sizes, float and normalized like the training data.
    The crops of :func:`images_per_cut` images at a time are cut, then sent through the models ``batch_size``
    crops at a time (None: :func:`default_batch_size`), so memory stays bounded however many images there are.
    ``amp``: bf16 autocast (None: on CUDA only, as in training)."""
    ensemble = models if isinstance(models, Ensemble) else Ensemble(
        [models] if isinstance(models, nn.Module) else list(models), method=method)
    ensemble.eval()
    device = next(ensemble.parameters()).device
    if batch_size is None:
        batch_size = default_batch_size(ensemble.models[0], size, device)
    amp = device.type == "cuda" if amp is None else amp
    per_chunk = images_per_cut(crops, size)
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
        logits = []
        for batch in cut.flatten(0, 1).split(batch_size):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                logits.append(ensemble(batch.to(device).contiguous(memory_format=torch.channels_last)).float())
        chunks.append(torch.cat(logits, 1).softmax(-1).cpu().unflatten(1, cut.shape[:2]))  # (models, n, K, classes)
    return torch.cat(chunks, 1)


def combine(probabilities: torch.Tensor, reduce: str = "mean") -> torch.Tensor:
    """(models, N, crops, classes) -> (N, classes): ``reduce`` over the crops (``"mean"``: the paper's; ``"max"``),
    then the mean over the models (after ``"max"`` the rows no longer sum to 1; their ranking is what counts)."""
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce={reduce!r} is not one of {REDUCTIONS}")
    per_model = probabilities.mean(2) if reduce == "mean" else probabilities.amax(2)
    return per_model.mean(0)


def predict(models: nn.Module | Sequence[nn.Module], images: torch.Tensor | Sequence[torch.Tensor], *,
            crops: int = 1, size: int = PAPER_CROP, reduce: str = "mean", batch_size: int | None = None,
            method: str = "loop", amp: bool | None = None) -> torch.Tensor:
    """Class probabilities (N, classes) for ``images``: :func:`crop_probabilities` combined by :func:`combine`."""
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce={reduce!r} is not one of {REDUCTIONS}")
    return combine(crop_probabilities(models, images, crops=crops, size=size, batch_size=batch_size, method=method,
                                      amp=amp), reduce)
