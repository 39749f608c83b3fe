"""The Training chapter's tables and sentences: the runs' scores over seeds, their times, the optimizer's choice
and the convergence measurements behind the book's training length (Section 6)."""

from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd

from ..formatting import configuration


def seed_summary(scores: pd.DataFrame, test_images: int) -> pd.DataFrame:
    """Per configuration and weights: the seeds, and test top-1 as a mean over them with its 95% interval
    (:func:`reproduce.analysis.findings.mean_over_seeds`). ``scores``: rows of
    :func:`reproduce.training.loop.score_runs`."""
    from ...analysis.findings import mean_over_seeds

    rows = []
    for (config, weights), group in scores.assign(configuration=scores["run"].map(configuration)).groupby(
            ["configuration", "weights"], sort=False):
        interval = mean_over_seeds(group.sort_values("seed")["top1"])
        rows.append({"configuration": config, "weights": weights, "seeds": len(group),
                     "test top-1 % (95% CI)": interval.text(), "test images": test_images})
    return pd.DataFrame(rows)


def top1_per_seed(scores: pd.DataFrame, label: str, weights: str = "Polyak") -> list[float]:
    """The test top-1 of every seed of the configuration ``label`` (runs named ``"label (seed k)"``) with ``weights``
    (``"Polyak"`` or ``"raw"``), in the order of the seeds. ``scores``: rows of
    :func:`reproduce.training.loop.score_runs`."""
    rows = scores[scores["run"].str.startswith(label + " (seed") & (scores["weights"] == weights)]
    return rows.sort_values("seed")["top1"].tolist()


def run_times(results: dict, seconds: dict[str, float]) -> pd.DataFrame:
    """Each run's wall seconds in this notebook (a reloaded run: the time to reload it) and the images per second of
    its training, from its history."""
    return pd.DataFrame([{"run": name, "seconds": seconds[name],
                          "images/s": pd.DataFrame(results[name].history)["images_per_second"].mean()}
                         for name in results])


def style_run_times(table: pd.DataFrame):
    return table.style.format({"seconds": "{:.0f}", "images/s": "{:.0f}"}).hide(axis="index")


def augmentation_sentence(scores: pd.DataFrame, run: str, main: str) -> str:
    """The run with the paper's augmentation (named ``run``) against the main configuration's first seed (``main``),
    test top-1 with Polyak weights, one seed each: stated without a verdict; or that there is no such run."""
    polyak = scores[scores["weights"] == "Polyak"].set_index("run")["top1"]
    if run not in polyak:
        return "No run with the paper's augmentation (`augmentation_run=False`)."
    return (f"With the paper's augmentation (random crops of 8-100% of the area, photometric distortions, random "
            f"interpolation) the first seed's run reaches {polyak[run]:.1%} test top-1, against {polyak[main]:.1%} "
            f"with flips only; one seed each, a single sample, no verdict. A GPU rerun restores Section 6 with "
            f"`-p optimizer sgd -p lr 0.05 -p weight_decay 2e-4 -p crop True -p photometric True "
            f"-p random_interpolation True`.")


def convergence_section(path, steps: int) -> tuple[Optional[pd.DataFrame], Optional[pd.DataFrame], str]:
    """The Training chapter's measured step counts: ``benchmarks/convergence.py``'s results at ``path``, read, as
    :func:`convergence_runs` (for :func:`reproduce.book.figures.convergence`), :func:`convergence`'s table and its
    sentences, and the steps this build trains (``steps``); no runs, no table and a sentence saying how to make the
    file where it is missing."""
    import json
    from pathlib import Path

    path = Path(path)
    ending = f" This build trains every run for {steps:,} steps."
    if not path.is_file():
        return None, None, f"`{path}` is not there: `python benchmarks/convergence.py` writes it." + ending
    measured = json.loads(path.read_text())
    table, text = convergence(measured)
    return (convergence_runs(measured), table,
            " ".join(text.values()) + f" (Measured on {measured['device']}.)" + ending)


def style_seed_summary(table: pd.DataFrame):
    return table.style.hide(axis="index")


def optimizer_summary(scores: pd.DataFrame, base, best_lr) -> pd.DataFrame:
    """The optimizer comparison of the Training chapter: the main runs (``base``'s optimizer) and the paper's SGD at
    every rate tried, Polyak weights, test top-1 over their seeds."""
    if best_lr is None:
        return pd.DataFrame()
    polyak = scores[scores["weights"] == "Polyak"]
    keep = polyak["run"].map(configuration).map(lambda c: c == "GoogLeNet" or c.startswith("SGD, lr"))
    table = seed_summary(polyak[keep], 0).drop(columns=["weights", "test images"])
    table.insert(1, "optimizer", [base.optimizer if c == "GoogLeNet" else "sgd" for c in table["configuration"]])
    table.insert(2, "lr", [f"{base.lr:g}" if c == "GoogLeNet" else c.split("lr ")[1]
                           for c in table["configuration"]])
    return table


def optimizer_text(scores: pd.DataFrame, base, best_lr: Optional[float]) -> str:
    """The Training chapter's paragraph on the optimizer: where the paper's SGD was trained at ``best_lr`` with every
    seed, its comparison with the main runs (:func:`reproduce.book.claims.optimizer`, :func:`optimizer_sentence`); else
    what was run instead."""
    from ..claims import optimizer

    if best_lr is not None:
        choice = optimizer(top1_per_seed(scores, f"SGD, lr {best_lr:g}"), top1_per_seed(scores, "GoogLeNet"))
        return optimizer_sentence(choice, best_lr, base)
    if base.optimizer == "sgd":
        return "The main run uses the paper's SGD; no other optimizer was run."
    return f"The main run uses {base.optimizer}; this build trains no SGD (`sgd_lrs` is empty)."


def optimizer_sentence(choice: dict, best_lr: float, base) -> str:
    """What :func:`reproduce.book.claims.optimizer` found, in words, and what it means for the main run."""
    from ..claims import SGD_MARGIN

    d = choice["difference"]
    measured = (f"At its best learning rate here, {best_lr:g}, the paper's SGD reaches {choice['sgd'].text(unit='%')} "
                f"test top-1 over {d.over()}, against {choice['adamw'].text(unit='%')} with {base.optimizer} at lr "
                f"{base.lr:g}: "
                f"SGD minus {base.optimizer} is {d.text(sign=True, unit=' points')}.")
    if d.single:
        return measured + " One seed is a single sample: no decision."
    if choice["use_sgd"]:
        return (measured + f" The whole interval lies within {100 * SGD_MARGIN:.0f} points of {base.optimizer}, so "
                           f"the main run could use the paper's optimizer at this budget.")
    return (measured + f" The interval does not lie within {100 * SGD_MARGIN:.0f} points of {base.optimizer} (it "
                       f"reaches below -{100 * SGD_MARGIN:.0f}), so the main run keeps {base.optimizer} at this "
                       f"budget: that is the measured reason for this deviation from Section 6.")


#: How a convergence group's options read in a table (``benchmarks/convergence.py``), field by field.
_CHANGE_LABELS = {
    "batch_norm": lambda v: "batch norm" if v else "no batch norm (the paper's network)",
    "image_size": lambda v: f"{v} px", "batch_size": lambda v: f"batch {v}",
    "lr_schedule": lambda v: f"{v} schedule", "branch5x5": lambda v: "factorized 5x5" if v == "2x3x3" else "5x5",
    "label_smoothing": lambda v: f"label smoothing {v:g}", "aux_batch_norm": lambda v: "BN-auxiliary" if v else "",
    "aux_heads": lambda v: "" if v else "no auxiliary heads", "dropout": lambda v: f"dropout {v:g}",
    "init": lambda v: f"{v} initialization",
}


def _convergence_steps(options: dict, results: dict) -> int:
    """The training steps of a ``benchmarks/convergence.py`` run with ``options``."""
    return options["epochs"] * results["train_images"] // options["batch_size"]


def _convergence_label(options: dict, base: dict) -> str:
    """A convergence run's configuration in words: its optimizer and rate, and each option (of
    :data:`_CHANGE_LABELS`) in which it differs from the book's ``base``; not its length."""
    optimizer = "SGD" if options["optimizer"] == "sgd" else "AdamW"
    parts = [f"{optimizer} lr {options['lr']:g}"]
    parts += [_CHANGE_LABELS[k](options[k]) for k in _CHANGE_LABELS if k in options and options[k] != base.get(k)]
    return ", ".join(part for part in parts if part)


#: The families :func:`convergence_runs` sorts the configurations into, one panel each in
#: :func:`reproduce.book.figures.convergence`.
CONVERGENCE_FAMILIES = ("AdamW, batch norm", "AdamW, no batch norm (the paper's network)", "SGD, momentum 0.9")


def convergence_runs(results: dict) -> pd.DataFrame:
    """Every run ``benchmarks/convergence.py`` measured (its JSON, read), one row each: its ``configuration`` (as
    :func:`convergence`'s table names it, without its length), ``family`` (one of :data:`CONVERGENCE_FAMILIES`),
    ``steps``, ``seed`` and ``val top-1`` (the Polyak-averaged weights' validation top-1)."""
    base = results["book"]

    def family(options):
        if options["optimizer"] == "sgd":
            return CONVERGENCE_FAMILIES[2]
        return CONVERGENCE_FAMILIES[0] if options.get("batch_norm", True) else CONVERGENCE_FAMILIES[1]

    return pd.DataFrame([{"configuration": _convergence_label(run["options"], base), "family": family(run["options"]),
                          "steps": _convergence_steps(run["options"], results), "seed": run["seed"],
                          "val top-1": run["polyak_val_top1"]} for run in results["runs"]],
                        columns=["configuration", "family", "steps", "seed", "val top-1"]).sort_values(
        "family", key=lambda family: family.map(CONVERGENCE_FAMILIES.index), kind="stable", ignore_index=True)


def style_convergence(table: pd.DataFrame):
    """:func:`convergence`'s table, top-1 in percent."""
    return table.style.format({c: "{:.1%}" for c in ("val top-1, mean", "lowest", "highest")}).hide(axis="index")


def convergence(results: dict) -> tuple[pd.DataFrame, dict[str, str]]:
    """What ``benchmarks/convergence.py`` measured (its JSON, read): a table with one row per group of runs (its
    configuration, steps and seeds, and the validation top-1 of the Polyak-averaged weights: the mean over the seeds,
    the lowest and the highest) and the sentences the Training chapter states, each generated from those numbers:
    ``"steps"`` (AdamW against the number of steps), ``"sgd"`` (the paper's SGD at each rate, and whether its best
    setting comes within :data:`reproduce.book.claims.SGD_MARGIN` of AdamW) and ``"no_bn"`` (the paper's network without
    batch norm at the common rate and a lower one)."""
    from .. import claims

    sgd = dict(optimizer="sgd", momentum=0.9, weight_decay=2e-4)
    base = results["book"]  # the book's configuration; each group changes some of its fields
    groups: dict[str, dict] = {}
    for run in results["runs"]:
        group = groups.setdefault(run["group"], {"options": run["options"], "top1": {}})
        group["top1"][run["seed"]] = run["polyak_val_top1"]

    table = pd.DataFrame([{"configuration": _convergence_label(g["options"], base),
                           "steps": _convergence_steps(g["options"], results),
                           "seeds": len(g["top1"]), "val top-1, mean": np.mean(list(g["top1"].values())),
                           "lowest": min(g["top1"].values()), "highest": max(g["top1"].values())}
                          for g in groups.values()]).sort_values(["configuration", "steps"], kind="stable")

    def find(**changes):
        """Top-1 per seed of the one group that changes exactly ``changes`` in the book's configuration."""
        matches = [g for g in groups.values() if g["options"] == {**base, **changes}]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} groups change {changes} in the book's configuration")
        return [matches[0]["top1"][k] for k in sorted(matches[0]["top1"])]

    def rates(epochs):
        """The learning rates at which the paper's SGD (and nothing else) was run for ``epochs``."""
        return sorted(g["options"]["lr"] for g in groups.values()
                      if g["options"] == {**base, **sgd, "epochs": epochs, "lr": g["options"]["lr"]})

    def top1(**changes):
        """``"56.9% (runs 51.0 to 62.8)"``: two or three seeds are too few for a t-interval to say much, so the
        sentences give each group's spread."""
        values = find(**changes)
        return f"{100 * np.mean(values):.1f}% (runs {100 * min(values):.1f} to {100 * max(values):.1f})"

    def at(epochs):
        return f"{epochs * results['train_images'] // base['batch_size']:,} steps"

    adamw_steps = ", ".join(f"{top1(epochs=e)} after {at(e)}" for e in (2, 3, 4, 8))
    text = {"steps": f"AdamW at the book's settings reaches a validation top-1 of {adamw_steps}."}
    best = max(rates(8), key=lambda lr: np.mean(find(**sgd, epochs=8, lr=lr)))
    sgd_best, adamw_long = find(**sgd, epochs=8, lr=best), find(epochs=8)
    choice = claims.optimizer(sgd_best, adamw_long)
    d = choice["difference"]
    text["sgd"] = (
        f"The paper's SGD (momentum 0.9) after {at(4)} ends at "
        f"{'; '.join(f'{top1(**sgd, epochs=4, lr=lr)} with lr {lr:g}' for lr in rates(4))}; after {at(8)}, at "
        f"{'; '.join(f'{top1(**sgd, epochs=8, lr=lr)} with lr {lr:g}' for lr in rates(8))}, against "
        f"{top1(epochs=8)} for AdamW. Its best setting, lr {best:g} over {at(8)}, ends "
        f"{abs(d.estimate) * 100:.1f} points {'below' if d.estimate < 0 else 'above'} AdamW "
        f"(95% CI {d.low * 100:+.1f} to {d.high * 100:+.1f}, over {d.over()})"
        + ("; each of its runs ends below every AdamW run" if max(sgd_best) < min(adamw_long) else "")
        + (". The interval lies above " if choice["use_sgd"] else ". The interval does not lie above ")
        + f"-{claims.SGD_MARGIN * 100:.0f} points, the margin within which the book's main run would follow the "
        + "paper's optimizer" + (", so it does." if choice["use_sgd"] else ", so the main run keeps AdamW."))
    text["no_bn"] = (
        f"The paper's network without batch norm, at AdamW's 2e-3, ends at {top1(batch_norm=False, epochs=4)} after "
        f"{at(4)}; at 5e-4 it reaches {top1(batch_norm=False, epochs=3, lr=5e-4)} after {at(3)} and "
        f"{top1(batch_norm=False, epochs=4, lr=5e-4)} after {at(4)}.")
    return table, text
