"""The device policy of the whole project, in one place: which device a name means and how work runs on it by
default. On CUDA: bf16 autocast (``amp``) and channels_last memory, and cuDNN off where ``torch.vmap`` batches a
network; on the CPU: fp32. Training, evaluation, the planner and the benchmarks all take their choices from here.
"""

from __future__ import annotations

import contextlib
from typing import Optional

import torch


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"``: CUDA when torch sees a GPU, else the CPU; ``"cuda"`` without a GPU is an error that says so."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device='cuda' was asked for, but torch sees no CUDA device; use device='auto' or 'cpu'")
    return torch.device(name)


def uses_amp(device: torch.device, amp: Optional[bool] = None) -> bool:
    """bf16 autocast: ``amp`` where it is given, else on CUDA only."""
    return device.type == "cuda" if amp is None else amp


def uses_channels_last(channels_last: Optional[bool] = None) -> bool:
    """channels_last memory format: ``channels_last`` where it is given, else on (a no-op for the CPU's kernels'
    results, faster for cuDNN's)."""
    return True if channels_last is None else channels_last


def without_cudnn_on(device: torch.device):
    """A context in which cuDNN is off on CUDA (and nothing changes elsewhere): cuDNN's batch norm asks its input for
    its memory format, which a tensor batched by ``vmap`` cannot answer ("NYI: querying is_contiguous inside of
    vmap"), so the vectorized members run on PyTorch's own CUDA kernels."""
    return torch.backends.cudnn.flags(enabled=False) if device.type == "cuda" else contextlib.nullcontext()
