"""The training step against what the hardware allows (``reproduce.perf.step``): the paper's network and
torchvision's ``googlenet`` in one run, same precision, layout and batch, eager, compiled (and with CUDA graphs on
CUDA), with SGD's fused kernel and with Polyak updates, for training and inference; the data pipeline alone; the
matrix-multiply peak in the same precision. Prints images/s, the ratio to torchvision and the share of the peak, and
on CUDA the two targets: training at least twice the 3,151 images/s recorded on an H100, and a data pipeline at
least as fast as the training step.

    python benchmarks/training_step.py [--device auto] [--batch-size 128] [--workers 12] [--out PATH.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from reproduce.perf.step import RECORDED_H100_TRAINING, benchmark, table


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=12, help="the data pipeline's DataLoader workers")
    parser.add_argument("--photos", type=int, default=256, help="photographs the data pipeline reads")
    parser.add_argument("--no-compile", dest="compile", action="store_false")
    parser.add_argument("--out", default=None, help="write the results (JSON) here")
    args = parser.parse_args(argv)
    result = benchmark(args.device, image_size=args.image_size, batch_size=args.batch_size, rounds=args.rounds,
                       compile=args.compile, photos=args.photos, num_workers=args.workers, progress=True)
    print(table(result).to_string(index=False, float_format=lambda x: f"{x:,.3g}"))
    peak = result["peak"]
    print(f"\n{result['machine']['gpu'] or result['machine']['processor']}, {result['precision']}, "
          f"{result['layout']}, batch {args.batch_size} at {args.image_size} px; matrix-multiply peak "
          f"{peak['flops_per_second'] / 1e12:.1f} TFLOP/s ({peak['dtype']})")
    if result["machine"]["gpu"]:
        fastest = max(row["images_per_second"] for row in result["training"].values())
        print(f"training: {fastest:,.0f} images/s, {fastest / RECORDED_H100_TRAINING:.2f} x the recorded "
              f"{RECORDED_H100_TRAINING:,} (target: 2); data pipeline: "
              f"{result['pipeline']['vs_fastest_training_step']:.2f} x the training step (target: 1)")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
        print(f"written to {args.out}")
    return result


if __name__ == "__main__":
    main()
