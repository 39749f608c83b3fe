"""How fast one CPU core loads data for training and scoring (``reproduce.perf.loading``): photographs of ImageNet's
size decoded and augmented, CIFAR's arrays augmented, a folder scanned. The plan's data-loading hours come from the
file it writes (``reproduce.book.plan``).

    python benchmarks/loading.py [--photos 40] [--rounds 3] [--out benchmarks/results/loading.json]
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path

from reproduce.perf.loading import loading_rates


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=40, help="JPEGs decoded per pass")
    parser.add_argument("--rounds", type=int, default=3, help="timed passes (the best is kept)")
    parser.add_argument("--out", default="benchmarks/results/loading.json")
    args = parser.parse_args(argv)
    result = {**loading_rates(args.photos, args.rounds), "measured": datetime.now(timezone.utc).isoformat()}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    for name, rate in result["images_per_second_per_core"].items():
        print(f"{name:>12}: {rate:9.0f} per second on one core")
    print(f"written to {out}")
    return result


if __name__ == "__main__":
    main()
