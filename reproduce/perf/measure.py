"""Timing and counting: every comparison of :mod:`reproduce.perf` times its contenders with
:func:`interleaved_seconds`, in alternating rounds, and reports the median of each, so that a drift of the machine's
speed during the run affects both sides alike. FLOPs are counted by ``torch.utils.flop_counter`` (a multiply-add is
two FLOPs; convolutions, matrix products and their gradients are counted, element-wise work is not)."""

from __future__ import annotations

import statistics
import time
from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode
from tqdm import tqdm



def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved_seconds(calls: dict[str, Callable[[], object]], device: torch.device, *, rounds: int = 5,
                        warmup: int = 1, progress: bool = False, desc: str = "") -> dict[str, float]:
    """Seconds per call of each of ``calls``: ``warmup`` untimed calls of each, then ``rounds`` rounds in which each
    is timed once, in turn; the median over the rounds."""
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    for call in calls.values():
        for _ in range(warmup):
            call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in tqdm(range(rounds), desc=desc, unit="round", disable=not progress, leave=False):
        for name, call in calls.items():
            synchronize(device)
            started = time.perf_counter()
            call()
            synchronize(device)
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def count_flops(call: Callable[[], object]) -> int:
    """FLOPs of one call of ``call``, as ``torch.utils.flop_counter`` counts them."""
    with FlopCounterMode(display=False) as counter:
        call()
    return counter.get_total_flops()


def matmul_peak(device: torch.device, *, sizes: tuple[int, ...] = (1024, 2048, 3072), rounds: int = 3,
                dtype: torch.dtype = torch.float32) -> dict:
    """The matrix-multiply peak of ``device`` in ``dtype`` as this torch build reaches it: square products of each
    size, the best median FLOP/s. (On CUDA the TF32 tensor cores stay off for fp32, as they do for the fp32 models
    here; a bf16 model is measured against the bf16 peak.)"""
    best = {"flops_per_second": 0.0, "size": None, "dtype": str(dtype).removeprefix("torch.")}
    for size in sizes:
        a, b = (torch.randn(size, size, device=device, dtype=dtype) for _ in range(2))
        seconds = interleaved_seconds({"mm": lambda: a @ b}, device, rounds=rounds)["mm"]
        rate = 2 * size ** 3 / seconds
        if rate > best["flops_per_second"]:
            best = {**best, "flops_per_second": rate, "size": size}
    return best

