"""Predictions as Section 7 makes them: softmax probabilities averaged over the crops of an image and over the models
of an ensemble.

:func:`crop_probabilities` scores whole images (not yet cropped) with one or more models. Crops are cut from each
image as :mod:`.crops` describes, on the models' device, every crop goes through every model, and each model's
softmax outputs are reduced over the crops of each image as they come: their mean (the paper's choice) and their max
(the alternative the paper reports as worse), so that memory does not grow with the number of crops.
:func:`combine` then takes one of the two and averages it over the models; :func:`predict` does both.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Union

import torch
from torch import nn
from torch.func import functional_call, stack_module_state
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from ..data.real import UnreadableImageError
from ..device import uses_amp, without_cudnn_on
from ..data.transforms import TEST_RESIZE_RATIO, model_input
from .crops import PAPER_CROP, PAPER_SCALES, center_crop, paper_crops_144, ten_crops

#: Number of crops -> the function that cuts them: (N, C, H, W) -> (N, crops, C, size, size).
CROPS: dict[int, Callable[..., torch.Tensor]] = {1: center_crop, 10: ten_crops, 144: paper_crops_144}
REDUCTIONS = ("mean", "max")
ENSEMBLE_METHODS = ("loop", "vmap")


def cut_crops(images: torch.Tensor, crops: int, size: int = PAPER_CROP, *,
              resize_ratio: float = TEST_RESIZE_RATIO) -> torch.Tensor:
    """``crops`` (1, 10 or 144) crops of each image: (N, C, H, W) -> (N, crops, C, size, size), on the images'
    device. ``resize_ratio`` sets the scale of the 1 and 10 crops (see :func:`.crops.center_crop`); the 144 crops
    keep the paper's fixed scales."""
    if crops not in CROPS:
        raise ValueError(f"crops={crops!r} is not one of {tuple(CROPS)}")
    if crops == 144:
        return paper_crops_144(images, size)
    return CROPS[crops](images, size, resize_ratio=resize_ratio)


@dataclass(frozen=True)
class CropProbabilities:
    """The softmax probabilities of every model on every image, reduced over the crops of the image: their ``mean``
    and their ``max``, each (models, N, classes); ``crops``: the crops per image they were reduced over.

    Indexing selects models and keeps that dimension: ``p[:3]`` holds the first three members, ``p[1]`` the second
    alone (models = 1)."""

    mean: torch.Tensor
    max: torch.Tensor
    crops: int

    def __post_init__(self):
        if self.mean.dim() != 3 or self.mean.shape != self.max.shape:
            raise ValueError(f"mean and max must both be (models, N, classes), got {tuple(self.mean.shape)} and "
                             f"{tuple(self.max.shape)}")

    @property
    def models(self) -> int:
        return self.mean.shape[0]

    def __getitem__(self, index: Union[int, slice, Sequence[int]]) -> "CropProbabilities":
        index = [index] if isinstance(index, int) else index
        return CropProbabilities(self.mean[index], self.max[index], self.crops)

    def images(self, index: Union[slice, Sequence[int]]) -> "CropProbabilities":
        """The same models on the images ``index`` selects (a subset of the test images)."""
        return CropProbabilities(self.mean[:, index], self.max[:, index], self.crops)

    def reduced(self, reduce: str) -> torch.Tensor:
        """``"mean"`` or ``"max"``: (models, N, classes)."""
        if reduce not in REDUCTIONS:
            raise ValueError(f"reduce={reduce!r} is not one of {REDUCTIONS}")
        return self.mean if reduce == "mean" else self.max


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

        with without_cudnn_on(x.device):  # cuDNN's batch norm cannot run under vmap
            return torch.vmap(one, in_dims=(0, 0, None))(params, buffers, x)


#: Bytes of the first layer's output per forward pass that :func:`default_batch_size` aims at on the CPU. Batches
#: larger than the caches are slower per crop there (the Performance appendix's crop rows measure the evaluator).
CPU_ACTIVATION_BYTES = 16 * 2 ** 20


#: Bytes of crops cut at once on the CPU, before they go through the models: the 144 crops of four 64 px images, or
#: of one 224 px image. Cutting several small images together saves per-call work; beyond the caches it costs again
#: (``benchmarks/throughput.py`` times the cutting against the model alone).
CROP_BYTES = 32 * 2 ** 20
#: The same on a GPU, which has no caches to stay within and many images' crops to keep busy: the 144 crops of
#: twelve 224 px images.
GPU_CROP_BYTES = 2 ** 30


def images_per_cut(crops: int, size: int, device: torch.device | str = "cpu") -> int:
    """How many images :func:`crop_probabilities` cuts at once: as many as keep their crops (fp32) within
    :data:`CROP_BYTES` on the CPU, :data:`GPU_CROP_BYTES` on a GPU, at least one."""
    budget = CROP_BYTES if torch.device(device).type == "cpu" else GPU_CROP_BYTES
    return max(1, budget // (crops * 3 * size * size * 4))


#: Bytes of images that DataLoader workers may hold in shared memory at once, all batches in flight together: within
#: the 64 MiB of ``/dev/shm`` that a container gets by default, with room for the rest of the process.
SHARED_MEMORY_BYTES = 48 * 2 ** 20
#: Images that may be in flight from the workers at once: a batch of images of different sizes crosses as one tensor,
#: and one file descriptor, per image, and the default limit of open files is 1,024.
FILES_IN_FLIGHT = 512
#: Batches each worker prepares ahead (DataLoader's ``prefetch_factor``).
PREFETCH = 2


def images_per_load(num_workers: int, image_bytes: int, per_chunk: int) -> int:
    """Images per DataLoader batch with ``num_workers`` workers, for images of about ``image_bytes`` each: as many as
    keep every batch in flight (``num_workers`` x :data:`PREFETCH`) within :data:`SHARED_MEMORY_BYTES` and
    :data:`FILES_IN_FLIGHT`, at least 1 and at most ``per_chunk`` (what is cut at once; the evaluator gathers the
    batches on the device until it has that many). Without workers, nothing crosses between processes, and there is
    nothing to gain from reading more than one image at a time: 1."""
    if num_workers == 0:
        return 1
    in_flight = num_workers * PREFETCH
    return max(1, min(per_chunk, SHARED_MEMORY_BYTES // (in_flight * max(1, image_bytes)),
                      FILES_IN_FLIGHT // in_flight))


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


def default_num_workers(device: torch.device | str) -> int:
    """DataLoader processes reading a data set's images for :func:`crop_probabilities`: none on the CPU, whose
    cores the models need; on a GPU, which the main process alone cannot keep busy decoding images, one per core up
    to 8."""
    return 0 if torch.device(device).type == "cpu" else min(8, os.cpu_count() or 1)


#: What an image that cannot be read becomes (all NaN, so that every crop, every model and every probability of it is
#: NaN and nothing else is: no operation of the evaluation mixes images).
UNREADABLE_SHAPE = (3, 64, 64)


class DatasetImages(SequenceABC):
    """The images of a data set of (image, label) pairs, read when indexed (a slice gives a list): what
    :func:`crop_probabilities` reads through a DataLoader, so that a whole split, ImageNet's 50,000 validation images
    say, is never held in memory at once. An image that cannot be read is an image of NaN (:data:`UNREADABLE_SHAPE`):
    a long scoring run does not stop at a damaged file."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        try:
            return self.dataset[index][0]
        except UnreadableImageError:  # scored as NaN: the caller leaves it out and names it (score_folder)
            return torch.full(UNREADABLE_SHAPE, float("nan"))


def collate_images(images: Sequence[torch.Tensor]) -> torch.Tensor | list[torch.Tensor]:
    """Whole images (C, H, W) as one batch: stacked, (n, C, H, W), when they have one size; else the list itself
    (their crops are cut image by image)."""
    images = list(images)
    if len({tuple(image.shape) for image in images}) == 1:
        return torch.stack(images)
    return images


Images = Union[torch.Tensor, Sequence[torch.Tensor], Dataset]


def _host_chunks(images: Images, per_chunk: int, size: int, *, num_workers: int, pin: bool, device: torch.device):
    """``images`` ``per_chunk`` at a time, as :func:`collate_images` gives them, on ``device`` (through pinned memory
    if ``pin``), uint8 images converted there (:func:`~reproduce.data.transforms.model_input`). A data set, or a
    :class:`DatasetImages`, is read by a DataLoader with ``num_workers`` processes in batches of
    :func:`images_per_load` images (sized by :func:`whole_image_bytes`), which are gathered on the device into
    chunks."""
    if isinstance(images, Dataset):
        images = DatasetImages(images)
    if isinstance(images, DatasetImages):
        per_load = images_per_load(num_workers, whole_image_bytes(size), per_chunk)
        budget = IMAGE_BYTES if device.type == "cpu" else GPU_IMAGE_BYTES
        pending: list[torch.Tensor] = []
        for part in DataLoader(images, batch_size=per_load, num_workers=num_workers, pin_memory=pin,
                               collate_fn=collate_images, prefetch_factor=PREFETCH if num_workers else None):
            pending.extend(model_input(image) for image in _to_device(part, device))
            while (count := _gathered(pending, per_chunk, budget)) < len(pending) or count == per_chunk:
                yield collate_images(pending[:count])
                del pending[:count]
        if pending:
            yield collate_images(pending)
        return
    for start in range(0, len(images), per_chunk):
        part = images[start:start + per_chunk]
        part = part if isinstance(part, torch.Tensor) else collate_images(part)
        if pin:
            part = _pinned(part) if isinstance(part, torch.Tensor) else [_pinned(image) for image in part]
        part = _to_device(part, device)
        yield model_input(part) if isinstance(part, torch.Tensor) else [model_input(image) for image in part]


#: Bytes of whole images (float, on the models' device) gathered into one chunk to be cut, at most (a chunk holds
#: at least one image): on the CPU, where they are host memory, the 1 and 10 crops of 224 px cut from ImageNet's
#: photographs would otherwise gather :func:`images_per_cut`'s count of them whatever their size.
IMAGE_BYTES = 64 * 2 ** 20
GPU_IMAGE_BYTES = 2 ** 31


def _gathered(pending: Sequence[torch.Tensor], per_chunk: int, budget: int) -> int:
    """How many of the ``pending`` images make the next chunk: ``per_chunk``, or fewer where their bytes reach
    ``budget`` first (at least one); ``len(pending)`` when neither is reached yet (the chunk is still gathering)."""
    total = 0
    for count, image in enumerate(pending[:per_chunk], 1):
        total += image.numel() * image.element_size()
        if total >= budget:
            return count
    return min(len(pending), per_chunk)


def whole_image_bytes(size: int) -> int:
    """The bytes a DataLoader worker hands over for one whole test image, as :func:`images_per_load` assumes: uint8
    (what :func:`~reproduce.data.transforms.whole_image_transform` gives with ``normalize=False``, the evaluator's
    data sets), a 4:3 photograph whose shorter side is the largest of the paper's test scales for ``size`` px crops
    (352 px for 224: about the bytes of an ImageNet validation photograph, mostly 500 x 375)."""
    shorter = round(size * max(PAPER_SCALES) / PAPER_CROP)
    return 3 * shorter * round(shorter * 4 / 3)


def _pinned(image: torch.Tensor) -> torch.Tensor:
    return image.pin_memory() if image.device.type == "cpu" and not image.is_pinned() else image


def _to_device(part: torch.Tensor | list[torch.Tensor], device: torch.device):
    if isinstance(part, torch.Tensor):
        return part.to(device, non_blocking=True)
    return [image.to(device, non_blocking=True) for image in part]


@torch.no_grad()
def crop_probabilities(models: nn.Module | Sequence[nn.Module], images: Images, *, crops: int = 1,
                       size: int = PAPER_CROP, resize_ratio: float = TEST_RESIZE_RATIO,
                       batch_size: Optional[int] = None, images_at_once: Optional[int] = None,
                       num_workers: int = 0, method: str = "loop", amp: Optional[bool] = None,
                       progress: bool = False) -> CropProbabilities:
    """The softmax of every model on every crop, reduced over the crops of each image as they are computed: a
    :class:`CropProbabilities` with their mean and max, each (models, N, classes), on the CPU. Memory does not grow
    with the number of crops.

    ``images``: (N, C, H, W); a list of (C, H, W) images of any sizes; or a data set of (image, label) pairs (or its
    :class:`DatasetImages`), read by a DataLoader with ``num_workers`` processes (pinned memory on CUDA, batches
    sized by :func:`images_per_load`); images are float and normalized like the training data, or uint8 as read
    (converted on the device, :func:`~reproduce.data.transforms.model_input`). Each whole image goes to the models' device once; ``crops`` crops
    of ``size`` px (``resize_ratio``: the scale of the 1 and 10 crops, see :func:`cut_crops`) are cut there,
    ``images_at_once`` images at a time (None: :func:`images_per_cut`), and sent through the models ``batch_size``
    crops at a time (None: :func:`default_batch_size`). The results stay on the device until the end. ``amp``: bf16
    autocast (None: on CUDA only, as in training)."""
    ensemble = models if isinstance(models, Ensemble) else Ensemble(
        [models] if isinstance(models, nn.Module) else list(models), method=method)
    if crops not in CROPS:
        raise ValueError(f"crops={crops!r} is not one of {tuple(CROPS)}")
    if num_workers < 0:
        raise ValueError(f"num_workers={num_workers!r} must not be negative")
    if images_at_once is not None and images_at_once < 1:
        raise ValueError(f"images_at_once={images_at_once!r} must be at least 1 (or None)")
    total = len(images)
    if total == 0:
        raise ValueError("images is empty: there is nothing to score")
    ensemble.eval()
    device = next(ensemble.parameters()).device
    if batch_size is None:
        batch_size = default_batch_size(ensemble.models[0], size, device)
    amp = uses_amp(device, amp)
    per_chunk = images_at_once or images_per_cut(crops, size, device)
    chunks = _host_chunks(images, per_chunk, size, num_workers=num_workers, pin=device.type == "cuda",
                          device=device)
    mean = maxed = None
    start = 0
    for part in tqdm(chunks, total=-(-total // per_chunk), desc=f"{crops} crop(s)", unit="batch",
                     disable=not progress, leave=False):
        if isinstance(part, torch.Tensor):
            cut = cut_crops(part, crops, size, resize_ratio=resize_ratio)  # (n, K, C, S, S)
        else:  # images of different sizes: each is cropped on its own
            cut = torch.cat([cut_crops(image[None], crops, size, resize_ratio=resize_ratio) for image in part])
        logits = []
        for batch in cut.flatten(0, 1).split(batch_size):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                logits.append(ensemble(batch.contiguous(memory_format=torch.channels_last)).float())
        probabilities = torch.cat(logits, 1).softmax(-1).unflatten(1, cut.shape[:2])  # (models, n, K, classes)
        if mean is None:
            shape = (probabilities.shape[0], total, probabilities.shape[-1])
            mean, maxed = probabilities.new_empty(shape), probabilities.new_empty(shape)
        mean[:, start:start + len(cut)] = probabilities.mean(2)
        maxed[:, start:start + len(cut)] = probabilities.amax(2)
        start += len(cut)
    if start != total:
        raise ValueError(f"images gave {start} images, not the {total} its length says")
    return CropProbabilities(mean.cpu(), maxed.cpu(), crops)


def combine(probabilities: CropProbabilities, reduce: str = "mean") -> torch.Tensor:
    """(N, classes): the crops' ``reduce`` (``"mean"``: the paper's; ``"max"``) of each model, then the mean over
    the models (after ``"max"`` the rows no longer sum to 1; their ranking is what counts)."""
    return probabilities.reduced(reduce).mean(0)


def predict(models: nn.Module | Sequence[nn.Module], images: Images, *, crops: int = 1, size: int = PAPER_CROP,
            resize_ratio: float = TEST_RESIZE_RATIO, reduce: str = "mean", batch_size: Optional[int] = None,
            images_at_once: Optional[int] = None, num_workers: int = 0, method: str = "loop",
            amp: Optional[bool] = None, progress: bool = False) -> torch.Tensor:
    """Class probabilities (N, classes) for ``images``: :func:`crop_probabilities` combined by :func:`combine`."""
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce={reduce!r} is not one of {REDUCTIONS}")
    return combine(crop_probabilities(models, images, crops=crops, size=size, resize_ratio=resize_ratio,
                                      batch_size=batch_size, images_at_once=images_at_once, num_workers=num_workers,
                                      method=method, amp=amp, progress=progress), reduce)
