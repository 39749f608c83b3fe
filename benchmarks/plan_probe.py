"""The throughputs the plan's reference times come from (``python -m reproduce book --plan``): a training step and an
inference pass of the GPU parameter sets' networks, measured with :func:`reproduce.book.plan.probe` on the machine this
runs on, with the peak device memory of each beside the plan's estimate of it.

    python benchmarks/plan_probe.py --out benchmarks/results/h100.json   # on the GPU the reference is to describe
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from datetime import datetime, timezone
from pathlib import Path

import torch

from reproduce.book import plan
from reproduce.device import resolve_device

#: The networks of the GPU parameter sets: ImageNet's paper network at 224 px, and CIFAR-100's at 32 px.
NETWORKS = {"imagenet": plan.Network(224, 1000), "cifar100": plan.Network(32, 100, stem="small", batch_norm=True)}
BATCHES = {True: 128, False: 512}  # training, inference


def measure(device: torch.device, steps: int = 10) -> list[dict]:
    rows = []
    for name, network in NETWORKS.items():
        macs = plan.forward_macs(network)
        for training in (True, False):
            batch = BATCHES[training]
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            rate = plan.probe(network, device, training=training, batch=batch, steps=steps)
            stage = plan.Stage("probe", "train" if training else "inference", network, batch, batch, training)
            rows.append({"network": name, "network_options": dataclasses.asdict(network),
                         "image_size": network.image_size, "training": training, "batch": batch,
                         "images_per_second": rate, "flops_per_second": 2 * macs * (3 if training else 1) * rate,
                         "peak_memory_bytes": torch.cuda.max_memory_allocated(device) if device.type == "cuda"
                         else None, "planned_memory_bytes": plan.estimated_memory(stage, device)})
            print(f"{name} {'training' if training else 'inference'}: {rate:,.0f} images/s")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    device = resolve_device(args.device)
    rows = measure(device, args.steps)
    result = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU",
              "date": datetime.now(timezone.utc).date().isoformat(), "torch": torch.__version__,
              "how": f"reproduce.book.plan.probe: {args.steps} timed steps after one untimed, bf16 autocast and "
                     f"channels_last on CUDA, random images on the device (no data loading)",
              "rates": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
