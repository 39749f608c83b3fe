"""Several processes, one model: ``torchrun`` + DistributedDataParallel.

``torchrun --nproc_per_node=N -m reproduce train ...`` starts N processes and tells each its ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK`` through the environment (and ``--nnodes``/``--rdzv-endpoint`` span several
machines). Each process trains on its share of every global batch; DDP averages the gradients, and batch norm
normalizes over the global batch (:class:`reproduce.models.blocks.BatchNorm2d`), so N processes with batch B/N take
the same steps as one process with batch B. The backend is NCCL on CUDA and gloo on the CPU.

What one process must do before the others wait at a :func:`barrier`: :func:`main_process_first` builds the data
sets (and downloads them) in the first process before the others, and the training loop holds every process until
the first has written the epoch's checkpoint.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, TypeVar

import torch
import torch.distributed as dist


#: How long a process waits at a barrier (or any collective) for the others before the run fails: longer than the
#: slowest thing one process does while the others wait -- the first scan of a data set of 1.28M files
#: (:func:`main_process_first`), an epoch's checkpoint, a block of crops scored -- and far below torchrun's silence
#: for a process that hangs for good. (NCCL's default, 10 minutes, is shorter than a first scan of ImageNet on a
#: network file system.)
BARRIER_TIMEOUT = timedelta(hours=1)


@dataclass(frozen=True)
class Processes:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def start(device_type: str) -> Processes:
    """Join the process group that ``torchrun`` describes in the environment, or run alone."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Processes()
    processes = Processes(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        if device_type == "cuda":
            torch.cuda.set_device(processes.local_rank)
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo", timeout=BARRIER_TIMEOUT)
    return processes


def stop(processes: Processes) -> None:
    if processes.distributed and dist.is_initialized():
        dist.destroy_process_group()


def barrier(processes: Processes) -> None:
    """Wait until every process has reached this point (nothing to wait for when running alone)."""
    if processes.distributed:
        if dist.get_backend() == "nccl":
            dist.barrier(device_ids=[processes.local_rank])
        else:
            dist.barrier()


T = TypeVar("T")


def main_process_first(processes: Processes, build: Callable[[], T]) -> T:
    """``build()`` in every process, in the first process before the others: what it fetches or writes once (a
    download, a cache) is there when the others build, so they read it instead of fetching it again."""
    if processes.is_main:
        built = build()
    barrier(processes)
    if not processes.is_main:
        built = build()
    return built


def sum_over_processes(tensor: torch.Tensor, processes: Processes) -> torch.Tensor:
    if processes.distributed:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor
