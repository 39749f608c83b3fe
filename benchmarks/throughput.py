"""How fast the reproduction runs, against torchvision's GoogLeNet and against the machine's own peak, measured side
by side in one run (``reproduce.perf.suite``):

- training and inference throughput of reproduce's torchvision-compatible GoogLeNet against
  ``torchvision.models.googlenet`` in a plain eager NCHW loop, at 224 px and at the book's 64 px;
- the FLOP/s they reach (``torch.utils.flop_counter``) as a share of the fp32 matrix-multiply peak;
- ``torch.compile`` against eager, its compile time apart;
- the 144-crop evaluator against the model alone on ready-made crops and against a naive per-crop loop;
- 7 ensemble members trained and run together against one by one;
- the embedded data set's generation and augmentation against the training step that consumes it.

Prints a table of the ratios against the targets and writes everything as JSON, which the book's Performance
appendix shows (``notebooks/performance.ipynb``).

    python benchmarks/throughput.py [--device auto] [--rounds 7] [--no-compile] [--out PATH.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from reproduce.perf import suite, targets_table


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", help="'auto' (CUDA when present), 'cpu' or 'cuda'")
    parser.add_argument("--sizes", type=int, nargs="+", default=[224, 64], help="input sides, in pixels")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds per comparison (the median is kept)")
    parser.add_argument("--members", type=int, default=7, help="ensemble members")
    parser.add_argument("--no-compile", dest="compile", action="store_false", help="skip the torch.compile timing")
    parser.add_argument("--out", default="benchmarks/results/performance.json")
    args = parser.parse_args(argv)

    result = suite(args.device, sizes=tuple(args.sizes), rounds=args.rounds, members=args.members,
                   compile=args.compile)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    where = result["machine"]
    print(f"\n{where['gpu'] or where['processor']} ({where['cores']} cores, {where['threads']} threads), "
          f"torch {where['torch']}; fp32 matmul peak {result['matmul_peak']['flops_per_second'] / 1e9:.0f} GFLOP/s")
    print(targets_table(result).to_string(index=False))
    print(f"\nwritten to {out}")
    return result


if __name__ == "__main__":
    main()
