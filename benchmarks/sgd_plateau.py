"""Why the paper's SGD stays at chance on the embedded data: the measurements behind the generator's defaults and
the Training chapter's paragraph on the paper's optimizer.

GoogLeNet at the book's size (width 0.25, batch norm, 64 px) is trained for a fixed number of steps by a minimal loop
(batches drawn with replacement from 10,000 generated training images, flips only, a constant learning rate, the
loss of Section 5), with SGD (momentum 0.9, weight decay 2e-4) or AdamW (weight decay 0.05), on the generator's
earlier settings ("hard": radius 0.12-0.5 of the image side, gratings, two strokes, noise) and on its defaults
("default": radius 0.3-0.5, flat backgrounds, no strokes or noise), with one part changed at a time. Each row is one
seed; top-1 is measured on 1,000 validation images.

    python benchmarks/sgd_plateau.py   # about 10 minutes on 2 cores; writes benchmarks/results/sgd_plateau.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from reproduce.data.synthetic import generate
from reproduce.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from reproduce.models import googlenet
from reproduce.models.init import _classifiers
from reproduce.training.loop import googlenet_loss

HARD = dict(scale_range=(0.12, 0.5), clutter=2, texture=0.25, noise=0.04)  # the generator's earlier defaults
DEFAULT: dict = {}
#: (name, data, options): each changes one thing against the first row of its group.
EXPERIMENTS = [
    ("hard data, AdamW 2e-3", HARD, dict(optimizer="adamw", lr=2e-3, steps=600)),
    ("hard data, SGD 0.01", HARD, dict(optimizer="sgd", lr=0.01, steps=600)),
    ("hard data, SGD 0.1", HARD, dict(optimizer="sgd", lr=0.1, steps=600)),
    ("hard data, SGD 0.1, no auxiliary heads or dropout", HARD,
     dict(optimizer="sgd", lr=0.1, steps=600, aux_heads=False, dropout=0.0)),
    ("hard data, SGD 0.1, classifiers N(0, 1/fan-in)", HARD, dict(optimizer="sgd", lr=0.1, steps=600,
                                                                   classifier_std="fan_in")),
    ("default data, AdamW 2e-3", DEFAULT, dict(optimizer="adamw", lr=2e-3, steps=600)),
    ("default data, SGD 0.01", DEFAULT, dict(optimizer="sgd", lr=0.01, steps=600)),
    ("default data, SGD 0.03", DEFAULT, dict(optimizer="sgd", lr=0.03, steps=600)),
]


def run(data: dict, *, optimizer: str, lr: float, steps: int, batch_size: int = 32, aux_heads: bool = True,
        dropout: float = 0.4, classifier_std: str | None = None, seed: int = 0, every: int = 150) -> dict:
    train_x, train_y = generate(10_000, 64, seed=0, split="train", **data)
    val_x, val_y = generate(1_000, 64, seed=0, split="val", **data)
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)

    def normalize(x):
        return (x.float() / 255 - mean) / std

    torch.manual_seed(seed)
    model = googlenet(10, width=0.25, batch_norm=True, aux_heads=aux_heads, dropout=dropout)
    if classifier_std == "fan_in":
        for layer in _classifiers(model):
            torch.nn.init.normal_(layer.weight, std=layer.weight.shape[1] ** -0.5)
    model = model.to(memory_format=torch.channels_last)
    if optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=2e-4)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    generator = torch.Generator().manual_seed(seed)

    @torch.no_grad()
    def val_top1():
        model.eval()
        hits = sum((model(normalize(val_x[i:i + 250]).contiguous(memory_format=torch.channels_last)).argmax(1)
                    == val_y[i:i + 250]).sum().item() for i in range(0, len(val_y), 250))
        model.train()
        return hits / len(val_y)

    curve, losses, started = [], [], time.perf_counter()
    for step in range(1, steps + 1):
        index = torch.randint(0, len(train_y), (batch_size,), generator=generator)
        x = normalize(train_x[index])
        flip = torch.rand(batch_size, generator=generator) < 0.5
        x[flip] = x[flip].flip(3)
        loss, parts = googlenet_loss(model(x.contiguous(memory_format=torch.channels_last)), train_y[index])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(parts["main"].item())
        if step % every == 0:
            curve.append({"step": step, "val_top1": val_top1(), "train_loss": sum(losses[-50:]) / 50})
    return {"curve": curve, "seconds": time.perf_counter() - started}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "sgd_plateau.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    rows = []
    for name, data, options in EXPERIMENTS:
        result = run(data, **options)
        rows.append({"experiment": name, "data": {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()},
                     **options, **result})
        last = result["curve"][-1]
        print(f"{name}: val top-1 {last['val_top1']:.1%} after {last['step']} steps", flush=True)
    Path(args.out).write_text(json.dumps({"batch_size": 32, "experiments": rows}, indent=1))


if __name__ == "__main__":
    main()
