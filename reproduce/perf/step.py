"""The training step against what the hardware allows: the paper's network (LRN, no batch norm, both auxiliary
heads) and torchvision's ``googlenet`` in the same precision (bf16 autocast on CUDA, fp32 on the CPU), layout
(channels_last) and batch, timed side by side (:func:`~.measure.interleaved_seconds`) for training and inference,
eager and ``torch.compile``-d (and with CUDA graphs, ``mode="reduce-overhead"``, on CUDA), with SGD's fused kernel,
and with a Polyak update after every step as the training loop makes one; beside them, the data pipeline alone (the
training loader on photographs of ImageNet's size) and the device's matrix-multiply peak in the same precision.
``benchmarks/training_step.py`` runs it and prints images/s, the ratio to torchvision and the share of the peak.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Callable

import torch
import torchvision

from ..device import resolve_device
from ..models import googlenet
from .measure import count_flops, interleaved_seconds, matmul_peak, synchronize

#: The rate the plan's H100 probe recorded for the paper's network at 224 px, bf16, batch 128
#: (``benchmarks/results/h100.json``); issue 28's target is twice it.
RECORDED_H100_TRAINING = 3151


def _amp(device: torch.device) -> bool:
    return device.type == "cuda"


def _paper_network(device: torch.device) -> torch.nn.Module:
    torch.manual_seed(0)
    return googlenet(1000).to(device).to(memory_format=torch.channels_last)


def _torchvision_network(device: torch.device) -> torch.nn.Module:
    torch.manual_seed(0)
    model = torchvision.models.googlenet(weights=None, num_classes=1000, aux_logits=True, init_weights=True)
    return model.to(device).to(memory_format=torch.channels_last)


def _loss(outputs, targets) -> torch.Tensor:
    """Section 5's loss (:func:`~reproduce.training.loop.googlenet_loss`, TrainConfig's weights: the paper's) of
    either network's training outputs: torchvision's (logits, aux_logits2, aux_logits1) read as reproduce's."""
    from ..models.googlenet import GoogLeNetOutputs
    from ..training import TrainConfig
    from ..training.loop import googlenet_loss

    if hasattr(outputs, "aux_logits1"):  # torchvision's
        outputs = GoogLeNetOutputs(outputs.logits, outputs.aux_logits1, outputs.aux_logits2)
    config = TrainConfig()
    return googlenet_loss(outputs, targets, aux_weight=config.aux_weight, label_smoothing=config.label_smoothing)[0]


def training_steps(device: torch.device, image_size: int, batch_size: int, *, compile: bool = True) -> dict:
    """The contenders' training steps, ready to call, each on its own copy of its network and the same batch."""
    from ..training.polyak import PolyakAverage

    amp = _amp(device)
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(batch_size, 3, image_size, image_size, generator=generator).to(device).contiguous(
        memory_format=torch.channels_last)
    targets = torch.randint(0, 1000, (batch_size,), generator=generator).to(device)

    def step_of(model, *, fused: bool = False, polyak: bool = False, compiled: str | None = None) -> Callable:
        model.train()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, **({"fused": True} if fused else {}))
        average = PolyakAverage(model, 0.999) if polyak else None
        net = torch.compile(model, mode=compiled) if compiled else model

        def step():
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                outputs = net(images)
            loss = _loss(outputs, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if average is not None:
                average.update_parameters(model)
        return step

    steps = {"torchvision": step_of(_torchvision_network(device)),
             "paper network": step_of(_paper_network(device)),
             "paper network, fused SGD": step_of(_paper_network(device), fused=True),
             "paper network, + Polyak update": step_of(_paper_network(device), polyak=True)}
    if compile:
        steps["paper network, compiled"] = step_of(_paper_network(device), compiled="default")
        if device.type == "cuda":
            steps["paper network, compiled, CUDA graphs"] = step_of(_paper_network(device),
                                                                    compiled="reduce-overhead")
    return steps


def inference_calls(device: torch.device, image_size: int, batch_size: int, *, compile: bool = True) -> dict:
    amp = _amp(device)
    images = torch.randn(batch_size, 3, image_size, image_size, generator=torch.Generator().manual_seed(0)).to(
        device).contiguous(memory_format=torch.channels_last)

    def call_of(model, compiled: str | None = None) -> Callable:
        model.eval()
        net = torch.compile(model, mode=compiled) if compiled else model

        @torch.no_grad()
        def call():
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                net(images)
        return call

    calls = {"torchvision": call_of(_torchvision_network(device)), "paper network": call_of(_paper_network(device))}
    if compile:
        calls["paper network, compiled"] = call_of(_paper_network(device), "default")
    return calls


def pipeline_rate(image_size: int, batch_size: int, *, photos: int, num_workers: int, batches: int = 3) -> float:
    """Images per second of the training loader alone: an ImageFolder of ``photos`` photographs of ImageNet's size
    (:func:`~.loading.write_photographs`), the paper's augmentation at ``image_size`` (:func:`reproduce.data.datasets`,
    as the training loop builds it), ``num_workers`` workers; ``batches`` batches timed after the first."""
    from torch.utils.data import DataLoader

    from ..data import datasets
    from .loading import write_photographs

    with tempfile.TemporaryDirectory() as root:
        for split in ("train", "val"):
            write_photographs(Path(root, split, "n00000000"), photos)
        train, _ = datasets("imagefolder", root=root, image_size=image_size, crop=True, photometric=True)
        loader = DataLoader(train, batch_size=batch_size, shuffle=True, num_workers=num_workers,
                            persistent_workers=num_workers > 0, generator=torch.Generator().manual_seed(0))
        seen, timed, started = 0, 0, None
        while True:
            for images, _ in loader:
                if started is None:  # the first batch: the workers started, the files in the page cache
                    started = time.perf_counter()
                    continue
                seen, timed = seen + len(images), timed + 1
                if timed == batches:
                    return seen / (time.perf_counter() - started)


def benchmark(device: str = "auto", *, image_size: int = 224, batch_size: int = 128, rounds: int = 5,
              compile: bool = True, photos: int = 64, num_workers: int = 4, progress: bool = False) -> dict:
    """Every contender timed in one run on ``device``: images/s of each training step and inference call, the ratio
    of each to torchvision's (above 1: faster), its FLOP/s (``torch.utils.flop_counter``'s count of the step over
    its time) and their share of the matrix-multiply peak measured in the same precision; and the data pipeline's
    images/s against the fastest training step's."""
    from ..provenance import machine

    target = resolve_device(device)
    dtype = torch.bfloat16 if _amp(target) else torch.float32
    result = {"machine": machine(target), "image_size": image_size, "batch_size": batch_size,
              "precision": "bf16 autocast" if _amp(target) else "fp32", "layout": "channels_last",
              "peak": matmul_peak(target, dtype=dtype)}
    for mode, build in (("training", training_steps), ("inference", inference_calls)):
        calls = build(target, image_size, batch_size, compile=compile)
        flops = {name: count_flops(call) for name, call in calls.items() if "compiled" not in name}
        seconds = interleaved_seconds(calls, target, rounds=rounds, warmup=2, progress=progress, desc=mode)
        rows = {}
        for name, value in seconds.items():
            counted = flops.get(name, flops["paper network"] if name.startswith("paper") else None)
            rows[name] = {"images_per_second": batch_size / value, "vs_torchvision": seconds["torchvision"] / value,
                          "flops_per_second": counted / value,
                          "share_of_peak": counted / value / result["peak"]["flops_per_second"]}
        result[mode] = rows
        synchronize(target)
    fastest = max(row["images_per_second"] for row in result["training"].values())
    result["pipeline"] = {"images_per_second": pipeline_rate(image_size, batch_size, photos=photos,
                                                             num_workers=num_workers),
                          "num_workers": num_workers}
    result["pipeline"]["vs_fastest_training_step"] = result["pipeline"]["images_per_second"] / fastest
    return result


def table(result: dict):
    """The benchmark as one table: mode, contender, images/s, ratio to torchvision, FLOP/s, share of the peak."""
    import pandas as pd

    rows = [{"mode": mode, "contender": name, **values} for mode in ("training", "inference")
            for name, values in result[mode].items()]
    rows.append({"mode": "data pipeline", "contender": f"{result['pipeline']['num_workers']} workers",
                 "images_per_second": result["pipeline"]["images_per_second"]})
    return pd.DataFrame(rows)
