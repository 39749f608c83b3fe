"""The checks of the GPU paths that only a GPU can make: whether Polyak averaging synchronizes the device at every
step (CUDA's sync debug mode raises on a blocking copy or read), its cost per update against the stock
``AveragedModel``, and the 144-crop scorer's throughput, fed from a tensor and from a data set through DataLoader
workers.

    python benchmarks/device_checks.py --out benchmarks/results/device-checks.json   # on a GPU
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from torch.utils.data import Dataset

from reproduce import googlenet, googlenet_torchvision
from reproduce.evaluate import crop_probabilities
from reproduce.training.polyak import PolyakAverage, stock_average, time_updates


def synchronizes(build, model: torch.nn.Module) -> bool:
    """Whether one update of the average ``build(model, decay)`` makes a blocking device-host copy or read."""
    average = build(model, 0.999)
    average.update_parameters(model)  # the first update copies the weights
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        average.update_parameters(model)
        return False
    except RuntimeError:
        return True
    finally:
        torch.cuda.set_sync_debug_mode("default")


class Photos(Dataset):
    """Random normalized images of ImageNet-like sizes, made when read (as a decoder would make them)."""

    def __init__(self, count: int):
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int):
        generator = torch.Generator().manual_seed(index)
        height, width = (375, 500) if index % 2 else (500, 375)
        return torch.randn(3, height, width, generator=generator), 0


def crops_per_second(model: torch.nn.Module, images, *, num_workers: int) -> float:
    crop_probabilities(model, [Photos(1)[0][0]], crops=144, size=224)  # cuDNN autotuning, allocator warm-up
    torch.cuda.synchronize()
    started = time.perf_counter()
    crop_probabilities(model, images, crops=144, size=224, num_workers=num_workers)
    torch.cuda.synchronize()
    return 144 * len(images) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--images", type=int, default=64, help="images scored with 144 crops")
    args = parser.parse_args()
    device = torch.device("cuda")
    torch.backends.cudnn.benchmark = True
    model = googlenet(1000).to(device)
    result = {"device": torch.cuda.get_device_name(device), "torch": torch.__version__,
              "polyak_synchronizes": {"stock AveragedModel": synchronizes(stock_average, model),
                                      "PolyakAverage": synchronizes(PolyakAverage, model)}}
    times = time_updates(model, device, updates=50)
    result["polyak_seconds_per_update"] = times._asdict()
    scorer = googlenet_torchvision(1000, aux_heads=False).to(device).to(memory_format=torch.channels_last).eval()
    photos = Photos(args.images)
    result["crops_per_second"] = {
        "tensors in memory": crops_per_second(scorer, [photos[i][0] for i in range(len(photos))], num_workers=0),
        "data set, 8 workers": crops_per_second(scorer, photos, num_workers=8)}
    print(json.dumps(result, indent=1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
