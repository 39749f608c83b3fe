"""What a measurement was made on, described once: the machine (processor, cores, threads, GPU, library versions)
and the commit of this repository. The runner records it beside every executed notebook, the benchmarks in every
results file."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any, Optional

import torch
import torchvision

ROOT = Path(__file__).resolve().parent.parent


def git_commit() -> Optional[str]:
    """The commit checked out in this repository, with ``-modified`` where tracked files differ from it; None outside
    a git checkout."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("-modified" if dirty else "")


def processor() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        return name


def machine(device: torch.device | str = "cpu") -> dict[str, Any]:
    """What the numbers were measured on: the device, its GPU's name (None on the CPU), the processor, its cores,
    torch's threads, and the versions of Python, torch and torchvision."""
    device = torch.device(device)
    return {"device": str(device), "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
            "processor": processor(), "cores": os.cpu_count(), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "torchvision": torchvision.__version__, "python": platform.python_version()}


def device_name(description: dict[str, Any]) -> str:
    """One line for a :func:`machine` description: the GPU's name, or ``"CPU (2 cores)"``."""
    return description["gpu"] or f"CPU ({description['cores']} cores)"
