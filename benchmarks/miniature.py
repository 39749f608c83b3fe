"""The miniature's measurements: how long its networks take to converge, how far apart their seeds end, and the
paper's central claim on it, GoogLeNet against networks without Inception modules at equal multiply-adds and equal
training budget, over seeds.

Every run is ``reproduce.training.train`` with the miniature's configuration (``reproduce.training.MINIATURE_CONFIG``:
the embedded scenes at 128 px, the paper's stem, so that inceptions 3a-3b see 16x16 maps, 4a-4e 8x8 and 5a-5b 4x4,
Section 6's crops of 8-100% of the area and flips) with the options each group changes, scored after every epoch on
the validation split and at the end on the test split (one centre crop, the raw and the Polyak-averaged weights).
The plain and naive networks take the ``block_scale`` at which they cost GoogLeNet's multiply-adds
(``reproduce.analysis.costs.equal_cost_scale``). The runs are independent and spread over ``--workers`` processes of one
thread each; the results file is rewritten after every run, so a stopped sweep keeps what it finished.

    python benchmarks/miniature.py --sweep claim --workers 2 --out benchmarks/results/miniature.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from pathlib import Path

#: ``{sweep: [(group, seeds, options changed from the miniature's configuration)]}``; ``block_scale`` "equal" is
#: solved for the group's ``blocks``.
SWEEPS = {
    "claim": [
        ("GoogLeNet", range(2), {}),
        ("plain 3x3 stack", range(2), {"blocks": "plain", "block_scale": "equal"}),
        ("naive modules (Figure 2a)", range(1), {"blocks": "naive", "block_scale": "equal"}),
    ],
}


def options(sweep: str, group: str) -> dict:
    """The TrainConfig fields of one group: the miniature's, with the group's changes (``block_scale`` solved)."""
    from reproduce.analysis.costs import equal_cost_scale
    from reproduce.data.scenes import CLASSES
    from reproduce.training import MINIATURE_CONFIG

    changes = dict({name: changed for name, _, changed in SWEEPS[sweep]}[group])
    values = {**MINIATURE_CONFIG.to_dict(), "progress": False, "amp": False, **changes}
    if values.get("block_scale") == "equal":
        model = {name: values[name] for name in ("width", "batch_norm", "stem", "branch5x5")}
        values["block_scale"] = equal_cost_scale(values["blocks"], values["image_size"], len(CLASSES), **model)
    return values


def _run(job: tuple[str, str, int, dict, dict]) -> dict:
    sweep, group, seed, values, tiny = job
    import torch

    from reproduce.training import TrainConfig, train
    from reproduce.training.loop import score_split

    torch.set_num_threads(1)
    config = TrainConfig(**{**values, "seed": seed, "device": "cpu", **tiny})
    started = time.perf_counter()
    result = train(config)
    seconds = time.perf_counter() - started
    test = {"raw": score_split(result.model, config)["top1"]}
    if result.averaged is not None:
        test["polyak"] = score_split(result.averaged, config)["top1"]
    return {"group": group, "seed": seed, "seconds": seconds, "steps": result.history[-1]["steps"],
            "curve": [[row["epoch"], row["steps"], row["val_top1"], row.get("polyak_val_top1")]
                      for row in result.history],
            "train_top1": result.history[-1].get("train_top1"), "test_top1": test,
            "block_scale": config.block_scale}


def run_sweep(sweep: str, workers: int, out: Path, tiny: dict | None = None) -> list[dict]:
    """Every group of ``sweep`` with each of its seeds, seed-major (every group's first seed before any second
    seed, so that a stopped sweep has every group), ``workers`` runs at a time. The runs that ``out`` already holds
    with the same group options are kept, not run again (a stopped sweep resumes)."""
    groups = {group: options(sweep, group) for group, _, _ in SWEEPS[sweep]}
    results = []
    if out.exists() and not tiny:
        kept = json.loads(out.read_text())
        results = [run for run in kept["runs"]
                   if run["group"] in groups and kept["groups"].get(run["group"]) == groups[run["group"]]]
    done = {(run["group"], run["seed"]) for run in results}
    jobs = sorted(((sweep, group, seed, groups[group], tiny or {}) for group, seeds, _ in SWEEPS[sweep]
                   for seed in seeds if (group, seed) not in done), key=lambda job: job[2])
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for result in pool.imap_unordered(_run, jobs):
            results.append(result)
            print(f"{time.perf_counter() - started:6.0f}s {result['group']:28s} seed {result['seed']}: "
                  f"test top-1 {result['test_top1']}", flush=True)
            out.write_text(json.dumps(record(sweep, groups, results), indent=1))
    return results


def record(sweep: str, groups: dict, runs: list[dict]) -> dict:
    """The results file: where it was measured, each group's options and every run."""
    import torch

    from reproduce.provenance import processor

    return {"sweep": sweep, "device": processor(), "torch": torch.__version__, "threads per run": 1,
            "precision": "float32", "groups": groups, "runs": runs}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sweep", choices=sorted(SWEEPS), required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    run_sweep(args.sweep, args.workers, Path(args.out))


if __name__ == "__main__":
    main()
