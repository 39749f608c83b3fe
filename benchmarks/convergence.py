"""How many steps the book's runs need, and what the paper's SGD needs: the measurements behind the book's budget
(params/cpu.yml) and the Training chapter's section on the paper's optimizer.

Every run is ``reproduce.training.train`` with the book's configuration (GoogLeNet at width 0.25 with batch norm,
64 px, batches of 32 drawn from 4,800 generated training images, flips only, AdamW at 2e-3 with the step schedule
compressed to 4% every quarter epoch, a Polyak average with a time constant of 0.1 epoch) and one or two options
changed, as each group says; each group is run with two or three seeds and scored after every epoch on 500
validation images (raw and Polyak-averaged weights). Two sweeps were run, the second chosen from the first's
results: ``first`` (steps, learning rates, batch size, input size, SGD at four rates, the network without batch
norm) and ``second`` (three epochs, the poly schedule, the Beyond-v1 rows, SGD over eight epochs).

The runs are independent, so they are spread over ``--workers`` processes (on a GPU they share it; in float32 with
autocast off, as on the CPU). On the 2-core CPU the first sweep takes several hours, so the committed results were
measured on a GPU; the file names the device.

    python benchmarks/convergence.py --sweep first --workers 12 --out first.json
    python benchmarks/convergence.py --sweep second --workers 14 --out second.json
    python benchmarks/convergence.py --merge first.json second.json --out benchmarks/results/convergence.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from pathlib import Path

from reproduce.provenance import processor
from reproduce.training import BOOK_CONFIG

#: The book's configuration (reproduce.training.BOOK_CONFIG) at the published book's sizes (params/cpu.yml), with the
#: number of epochs the sweeps vary, in float32 everywhere.
BOOK = {**{name: getattr(BOOK_CONFIG, name) for name in (
    "dataset", "image_size", "shapes_size", "width", "batch_norm", "optimizer", "lr", "weight_decay", "batch_size",
    "lr_step_epochs", "polyak_epochs", "crop", "photometric", "random_interpolation", "flip")},
    "epochs": 2, "train_images": 4800, "eval_images": 500, "progress": False, "amp": False}
SGD = dict(optimizer="sgd", momentum=0.9, weight_decay=2e-4)  # the paper's momentum; Caffe's weight decay
NO_BN = dict(batch_norm=False)  # the paper's network (LRN, no batch norm)
THREE, TWO = (0, 1, 2), (0, 1)

#: ``{sweep: [(group, seeds, options changed from BOOK)]}``, each in the order it was run.
SWEEPS = {
    "first": [
        ("adamw 2e-3 ep2", THREE, dict(epochs=2)),
        ("adamw 2e-3 ep4", THREE, dict(epochs=4)),
        ("adamw 2e-3 ep8", THREE, dict(epochs=8)),
        ("adamw 0.001 ep2", THREE, dict(lr=1e-3)),
        ("adamw 0.004 ep2", THREE, dict(lr=4e-3)),
        ("adamw 2e-3 ep2 bs16", THREE, dict(batch_size=16)),
        ("adamw 2e-3 ep4 bs16", THREE, dict(batch_size=16, epochs=4)),
        ("adamw 2e-3 ep2 48px", THREE, dict(image_size=48, shapes_size=48)),
        ("adamw 2e-3 ep4 48px", THREE, dict(image_size=48, shapes_size=48, epochs=4)),
        ("sgd 0.01 ep4", TWO, dict(epochs=4, lr=0.01, **SGD)),
        ("sgd 0.03 ep4", TWO, dict(epochs=4, lr=0.03, **SGD)),
        ("sgd 0.1 ep4", TWO, dict(epochs=4, lr=0.1, **SGD)),
        ("sgd 0.3 ep4", TWO, dict(epochs=4, lr=0.3, **SGD)),
        ("sgd 0.03 ep8", TWO, dict(epochs=8, lr=0.03, **SGD)),
        ("sgd 0.1 ep8", TWO, dict(epochs=8, lr=0.1, **SGD)),
        ("sgd 0.1 ep8 bs16", TWO, dict(epochs=8, lr=0.1, batch_size=16, **SGD)),
        ("sgd 0.1 ep4 caffe-init", TWO, dict(epochs=4, lr=0.1, init="caffe", **SGD)),
        ("sgd 0.1 ep4 no aux/dropout", TWO, dict(epochs=4, lr=0.1, aux_heads=False, dropout=0.0, **SGD)),
        ("nobn adamw 0.0005 ep2", THREE, dict(lr=5e-4, **NO_BN)),
        ("nobn adamw 0.001 ep2", THREE, dict(lr=1e-3, **NO_BN)),
        ("nobn adamw 5e-4 ep4", THREE, dict(lr=5e-4, epochs=4, **NO_BN)),
        ("nobn adamw 2e-3 ep4", THREE, dict(epochs=4, **NO_BN)),
        ("fact+ls ep4", THREE, dict(epochs=4, branch5x5="2x3x3", label_smoothing=0.1)),
        ("fact+ls+bnaux noaux ep4", THREE, dict(epochs=4, branch5x5="2x3x3", label_smoothing=0.1,
                                                aux_batch_norm=True, aux_heads=False)),
    ],
    "second": [
        ("sgd 0.03 ep4 poly", TWO, dict(epochs=4, lr=0.03, lr_schedule="poly", **SGD)),
        ("sgd 0.03 ep8 poly", TWO, dict(epochs=8, lr=0.03, lr_schedule="poly", **SGD)),
        ("sgd 0.01 ep8", TWO, dict(epochs=8, lr=0.01, **SGD)),
        ("fact+ls+bnaux ep3", THREE, dict(epochs=3, branch5x5="2x3x3", label_smoothing=0.1, aux_batch_norm=True)),
        ("fact+ls ep3", THREE, dict(epochs=3, branch5x5="2x3x3", label_smoothing=0.1)),
        ("fact ep3", THREE, dict(epochs=3, branch5x5="2x3x3")),
        ("noaux ep3", THREE, dict(epochs=3, aux_heads=False)),
        ("nobn adamw 2e-3 ep3 poly", THREE, dict(epochs=3, lr_schedule="poly", **NO_BN)),
        ("nobn adamw 1e-3 ep3 poly", THREE, dict(epochs=3, lr=1e-3, lr_schedule="poly", **NO_BN)),
        ("nobn adamw 5e-4 ep3", THREE, dict(epochs=3, lr=5e-4, **NO_BN)),
        ("adamw 4e-3 ep3 poly", THREE, dict(epochs=3, lr=4e-3, lr_schedule="poly")),
        ("adamw 2e-3 ep2 poly", THREE, dict(epochs=2, lr_schedule="poly")),
        ("adamw 2e-3 ep3 poly", THREE, dict(epochs=3, lr_schedule="poly")),
        ("adamw 2e-3 ep3", THREE, dict(epochs=3)),
    ],
}


def options(sweep: str, group: str) -> dict:
    """The TrainConfig fields of one group (the book's, with the group's changes)."""
    changes = {name: changed for name, _, changed in SWEEPS[sweep]}[group]
    return {**BOOK, **changes}


def _run(job: tuple[str, str, int, dict]) -> dict:
    sweep, group, seed, tiny = job
    import torch

    from reproduce.training import TrainConfig, train

    torch.set_num_threads(1)
    values = {**options(sweep, group), "seed": seed, "device": "cuda" if torch.cuda.is_available() else "cpu",
              **tiny}
    started = time.perf_counter()
    result = train(TrainConfig(**values))
    last = result.history[-1]
    return {"group": group, "seed": seed, "seconds": time.perf_counter() - started,
            "curve": [[row["epoch"], row["val_top1"], row.get("polyak_val_top1")] for row in result.history],
            "val_top1": last["val_top1"], "polyak_val_top1": last.get("polyak_val_top1")}


def run_sweep(sweep: str, workers: int, out: Path, tiny: dict | None = None) -> list[dict]:
    """Every group of ``sweep`` with each of its seeds, ``workers`` runs at a time; the results are rewritten to
    ``out`` after each run (a stopped sweep keeps what it finished). ``tiny``: options that shrink every run (tests)."""
    jobs = [(sweep, group, seed, tiny or {}) for group, seeds, _ in SWEEPS[sweep] for seed in seeds]
    results, started = [], time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for result in pool.imap_unordered(_run, jobs):
            results.append(result)
            print(f"{time.perf_counter() - started:6.0f}s {result['group']:28s} seed {result['seed']}: "
                  f"val top-1 {result['val_top1']:.3f}, Polyak {result['polyak_val_top1']:.3f}", flush=True)
            out.write_text(json.dumps(results))
    return results


def merge(files: dict[str, Path], device: str, torch_version: str) -> dict:
    """One results file from each sweep's list of runs: every run with its sweep and its options."""
    runs = [{"sweep": sweep, **run, "options": options(sweep, run["group"])}
            for sweep, path in files.items() for run in json.loads(path.read_text())]
    return {"device": device, "torch": torch_version, "precision": "float32 (autocast off)", "book": BOOK,
            "validation_images": BOOK["eval_images"], "train_images": BOOK["train_images"], "runs": runs}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sweep", choices=sorted(SWEEPS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--merge", nargs=2, metavar=("FIRST", "SECOND"), help="the two sweeps' files, in order")
    parser.add_argument("--device-name", help="with --merge: the device the sweeps ran on")
    parser.add_argument("--torch-version", help="with --merge: the torch version they ran with")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.merge:
        import torch

        files = dict(zip(("first", "second"), map(Path, args.merge)))
        device = args.device_name or processor()
        merged = merge(files, device, args.torch_version or torch.__version__)
        Path(args.out).write_text(json.dumps(merged, indent=1))
    elif args.sweep:
        run_sweep(args.sweep, args.workers, Path(args.out))
    else:
        parser.error("pass --sweep or --merge")


if __name__ == "__main__":
    main()
