"""Ensembles of K GoogLeNets (Section 7), trained and run two ways, measured side by side in one run
(``reproduce.perf.ensemble_comparison``):

- training: K models one after another, each with its own optimizer and batch (what ``train_ensemble`` does),
  against ``StackedEnsemble``, which trains all K in one ``vmap``-ed step;
- inference: ``Ensemble(method="loop")`` against ``Ensemble(method="vmap")``.

Prints model-images per second and the ratios, and writes them as JSON.

    python benchmarks/ensemble.py [--members 7] [--width W] [--image-size N] [--batch-size 64] [--device auto]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


from reproduce.training import BOOK_CONFIG
from reproduce.perf import ensemble_comparison
from reproduce.provenance import machine


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=7)
    parser.add_argument("--width", type=float, default=BOOK_CONFIG.width)
    parser.add_argument("--image-size", type=int, default=BOOK_CONFIG.image_size)
    parser.add_argument("--batch-size", type=int, default=64, help="images per member and step")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="benchmarks/results/ensemble.json")
    args = parser.parse_args(argv)

    config = BOOK_CONFIG.replace(width=args.width, image_size=args.image_size, device=args.device)
    result = ensemble_comparison(config, args.members, batch_size=args.batch_size, rounds=args.repeats)
    result.update(machine=machine(result["device"]), width=args.width)
    where = result["machine"]
    print(f"{args.members} GoogLeNets (width {args.width}, {args.image_size} px, {args.batch_size} images per "
          f"member) on {result['device']} ({where['processor']}, {where['threads']} threads)")
    for name, value in result["images_per_second"].items():
        print(f"  {name:28s} {value:8.0f} model-images/s")
    print(f"  stacked / one after another, training: {result['train_stacked_vs_loop']:.2f}x")
    print(f"  vmap / loop, inference:                 {result['inference_vmap_vs_loop']:.2f}x")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
