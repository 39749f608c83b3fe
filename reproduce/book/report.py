"""Tables for the book: number formats and highlighting, so notebooks stay thin."""

from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd


def human(n: float) -> str:
    """1234 -> '1.23K', 1_582_671_872 -> '1.58G' (three significant digits, the paper's K and M)."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.3g}{unit}"
    return f"{n:g}"


def style_table1(table: pd.DataFrame):
    """Table 1 with counts in the paper's K/M notation, differences in percent, and every difference whose count
    does not round to the printed number (the ``as printed`` columns of :func:`reproduce.analysis.costs.table1`, which are not
    shown) highlighted."""
    counts = ["params", "params (paper)", "ops", "ops (paper)"]
    diffs = ["params diff %", "ops diff %"]
    flags = [c for c in table.columns if c.endswith(" as printed")]
    off = "background-color: #f8d0c8; font-weight: bold"

    def mark(column: pd.Series) -> list[str]:
        agrees = table[column.name.replace(" diff %", " as printed")]
        return [off if flag is not pd.NA and not flag else "" for flag in agrees]

    return (table.style
            .format(lambda v: "" if pd.isna(v) else human(v), subset=[c for c in counts if c in table])
            .format(lambda v: "" if pd.isna(v) else f"{v:+.1f}%", subset=[c for c in diffs if c in table])
            .format(lambda v: "" if pd.isna(v) else f"{v}",
                    subset=[c for c in table.columns if c not in counts + diffs + flags])
            .apply(mark, subset=[c for c in diffs if c in table])
            .hide(axis="index").hide(flags, axis="columns"))


def listed(names: list[str]) -> str:
    """``["a", "b", "c"]`` -> ``"a, b and c"``: names in a sentence."""
    return f"{', '.join(names[:-1])} and {names[-1]}" if len(names) > 1 else names[0]


def rows_off_sentence(off: dict[str, list[str]]) -> str:
    """Which rows of Table 1 do not round to the printed counts (:func:`reproduce.analysis.costs.rows_not_as_printed`), in
    words."""
    parts = [f"{'the parameters' if column == 'params' else 'the multiply-adds'} of {len(rows)} row"
             f"{'s' if len(rows) > 1 else ''} ({listed([row.removeprefix('inception') for row in rows])})"
             for column, rows in off.items() if rows]
    if not parts:
        return "Every count rounds to the number the paper prints."
    return "Counted from the filters, " + " and ".join(parts) + " do not round to the numbers the paper prints."


def seen_whole(fields: pd.Series, diameters: dict[str, float]) -> str:
    """Which branches of one module (``fields``: branch -> receptive field in pixels, as a row of
    :func:`reproduce.analysis.receptive.branch_fields`) see each object whole (``diameters``: name -> the object's diameter in
    pixels), in words."""
    sentences = []
    for name, diameter in diameters.items():
        whole = [branch for branch, field in fields.items() if field >= diameter]
        where = (f"the {listed(whole)} branch{'es' if len(whole) > 1 else ''}" if whole
                 else f"no branch of {fields.name}")
        sentences.append(f"The {name} object ({diameter:.0f} px) fits whole in the field of {where}.")
    return " ".join(sentences) + " Units with small fields see parts of the large objects, which later modules combine."


def bottleneck_values(savings: pd.DataFrame, total_ops: int) -> dict[str, str]:
    """The Motivation chapter's numbers on the 1x1 reductions, from :func:`reproduce.analysis.costs.bottleneck_savings`: the
    example of inception (3a)'s 5x5 branch (``ex_*``), the saving over every 3x3 and every 5x5 branch, and what the
    reductions save against the whole network's ``total_ops``."""
    first = savings[(savings["module"] == "3a") & (savings["branch"] == "5x5")].iloc[0]
    by_kernel = savings.groupby("branch")[["ops without reduction", "ops with reduction"]].sum()
    saved = (by_kernel["ops without reduction"] - by_kernel["ops with reduction"]).sum()
    return {"ex_in": f"{first['input channels']}", "ex_red": f"{first['reduced to']}",
            "ex_out": f"{first['output channels']}", "ex_without": human(first["ops without reduction"]),
            "ex_with": human(first["ops with reduction"]), "ex_saving": f"{first['saving (x)']:.1f}",
            **{f"saving_{kernel}": f"{by_kernel.loc[kernel].iloc[0] / by_kernel.loc[kernel].iloc[1]:.1f}"
               for kernel in ("3x3", "5x5")},
            "saved_vs_total": f"{saved / total_ops:.1f}"}


#: What a table shows where a value is not defined (the growth from a previous row, in a first row): an en dash.
UNDEFINED = "\u2013"


def style_counts(table: pd.DataFrame):
    """Any table of counts: integers with thousands separators, ratios with two decimals, an index of numbers (a
    width multiplier) as short as it is exact (0.5, not 0.500000), and a value that is not defined as an en dash
    (:data:`UNDEFINED`), not "nan"."""
    formats = {c: ("{:,.0f}" if pd.api.types.is_integer_dtype(table[c]) else "{:.2f}")
               for c in table.columns if pd.api.types.is_numeric_dtype(table[c])}
    return table.style.format(formats, na_rep=UNDEFINED).format_index(
        lambda v: f"{v:g}" if isinstance(v, (float, np.floating)) else str(v))


def run_frames(results: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per-step losses and the per-epoch history of several training runs (``{name: TrainResult}``), each as
    one long table with a ``run`` column, ready for :func:`reproduce.book.figures.loss_curves` and
    :func:`reproduce.book.figures.accuracy_curves`."""
    steps = pd.concat([pd.DataFrame(r.steps).assign(run=name) for name, r in results.items()], ignore_index=True)
    history = pd.concat([pd.DataFrame(r.history).assign(run=name) for name, r in results.items()],
                        ignore_index=True)
    return steps, history


def table3_with_paper(ours: pd.DataFrame) -> pd.DataFrame:
    """Table 3 in miniature (:func:`reproduce.evaluate.table3`) next to the paper's Table 3: a row of ours is matched
    with the paper's row of the same number of crops and the same kind of predictor (one model, or the ensemble).
    The paper reports top-5 error on 1,000 classes; with 10 classes top-1 error is the informative one, so both of
    ours are shown."""
    from ..paper import TABLE3

    paper = pd.DataFrame(TABLE3)
    paper["ensemble"] = paper["models"] > 1
    paper["vs_base"] = paper["top5_error"] - paper["top5_error"].iloc[0]  # computed (the printed -3.45 is -3.40)
    paper.loc[0, "vs_base"] = float("nan")  # the base row is the base
    mine = ours.assign(ensemble=ours["models"] > 1)
    merged = mine.merge(paper, on=["ensemble", "crops"], how="left", suffixes=("", "_paper"))
    table = pd.DataFrame({
        "models": merged["models"], "crops": merged["crops"], "cost": merged["cost"],
        "top-1 error %": merged["top1_error"], "top-1 vs base": merged["top1_vs_base"],
        "top-5 error %": merged["top5_error"], "top-5 vs base": merged["top5_vs_base"],
        "paper: models": merged["models_paper"].astype("Int64"), "paper: cost": merged["cost_paper"].astype("Int64"),
        "paper: top-5 error %": merged["top5_error_paper"], "paper: vs base": merged["vs_base"]})
    table.loc[0, ["top-1 vs base", "top-5 vs base"]] = float("nan")  # the base row is the base
    return table


def style_table3(table: pd.DataFrame):
    """:func:`table3_with_paper` for the book: errors with two decimals, changes signed, no index."""
    changes = [c for c in table.columns if "vs base" in c]
    errors = [c for c in table.columns if "error" in c]
    return (table.style
            .format(lambda v: "" if pd.isna(v) else f"{v:.2f}", subset=errors)
            .format(lambda v: "" if pd.isna(v) else f"{v:+.2f}", subset=changes)
            .format(lambda v: "" if pd.isna(v) else f"{v:,}", subset=["cost", "paper: cost", "paper: models"])
            .hide(axis="index"))


ABLATION_COLUMNS = ("run", "change", "seeds", "top-1", "top-1 low", "top-1 high", "top-1 vs row before",
                    "vs row before low", "vs row before high", "verdict", "top-5", "params", "multiply-adds",
                    "epochs", "images", "seconds", "images/s")


def ablation_table(results: dict, tests: dict[str, dict[str, float]]) -> pd.DataFrame:
    """The Inception-v3 ablation (:func:`reproduce.training.ablation.ablation_runs`) as one table, a row per
    ablation row in the order of ``results``, each over its seeds.

    ``results``: ``{run name: TrainResult}`` (anything with ``config`` and ``history``), the names
    ``"<row> (seed k)"``; ``tests``: each run's ``{"top1", "top5"}`` on the test split. ``top-1`` is the mean over
    the row's seeds with its 95% interval (``low``, ``high``; Student's t);
    ``top-1 vs row before`` the difference of the mean over seeds from that of the row it changes (the ablation's
    parent row), with the pooled two-sample interval over the two rows' seeds and the verdict of :func:`reproduce.book.claims.ablation`. ``params`` and
    ``multiply-adds`` are those of the inference network (no auxiliary heads, one image at the run's
    ``image_size``), counted with :mod:`reproduce.analysis.costs`; ``images`` are the training images one run saw, ``seconds``
    the training time of the row's runs together, as each run recorded it (a run another chapter trained and this
    one reloaded counts its own training), and ``images/s`` their mean training throughput.
    """
    from . import claims
    from ..analysis.findings import mean_over_seeds
    from ..training.ablation import STEPS, inference_costs

    steps = {step.name: step for step in STEPS}
    by_row: dict[str, list[str]] = {}
    for name in results:
        by_row.setdefault(configuration(name), []).append(name)
    top1 = {row: [tests[n]["top1"] for n in sorted(names, key=lambda n: results[n].config.seed)]
            for row, names in by_row.items()}
    changes = {f.quantity.split("'")[1]: f for f in claims.ablation(top1)}
    rows = []
    for row, names in by_row.items():
        first = results[names[0]]
        config, history = first.config, list(first.history)
        cost = inference_costs(config, first.model.fc.out_features)
        interval = mean_over_seeds(top1[row])
        change = changes.get(row)
        histories = [h for n in names for h in results[n].history]
        rows.append({
            "run": row, "change": steps[row].change if row in steps else "", "seeds": len(names),
            "top-1": interval.estimate, "top-1 low": interval.low, "top-1 high": interval.high,
            "top-1 vs row before": change.difference.estimate if change else float("nan"),
            "vs row before low": change.difference.low if change else float("nan"),
            "vs row before high": change.difference.high if change else float("nan"),
            "verdict": change.verdict if change else "",
            "top-5": sum(tests[n]["top5"] for n in names) / len(names),
            "params": cost["params"], "multiply-adds": cost["macs"],
            "epochs": len(history), "images": history[-1]["steps"] * config.batch_size if history else 0,
            "seconds": sum(h.get("train_seconds", float("nan")) for h in histories),
            "images/s": (sum(h["images_per_second"] for h in histories) / len(histories) if histories
                         else float("nan")),
        })
    return pd.DataFrame(rows, columns=list(ABLATION_COLUMNS))


def style_ablation(table: pd.DataFrame):
    """:func:`ablation_table` for the book: top-1 in percent with its interval, the change from the row before in
    percentage points with its interval and verdict, costs in K/M, seconds and images/s rounded, no index. The
    change each row makes and the images every run saw are left to the page's text (the table must fit the column
    of a laptop's window)."""
    def interval(row, value, low, high, sign):
        if pd.isna(row[value]):
            return ""
        fmt = "{:+.1f}" if sign else "{:.1f}"
        text = fmt.format(100 * row[value])
        return text if row["seeds"] < 2 else f"{text} ({fmt.format(100 * row[low])} to {fmt.format(100 * row[high])})"

    shown = pd.DataFrame({
        "run": table["run"], "seeds": table["seeds"],
        "top-1 % (95% CI)": [interval(r, "top-1", "top-1 low", "top-1 high", False) for _, r in table.iterrows()],
        "vs row before, points (95% CI)": [interval(r, "top-1 vs row before", "vs row before low",
                                                    "vs row before high", True) for _, r in table.iterrows()],
        "verdict": table["verdict"], "top-5": table["top-5"], "params": table["params"],
        "multiply-adds": table["multiply-adds"], "seconds": table["seconds"], "images/s": table["images/s"]})
    return (shown.style
            .format("{:.1%}", subset=["top-5"])
            .format(human, subset=["params", "multiply-adds"])
            .format("{:,.0f}", subset=["seconds", "images/s"])
            .hide(axis="index"))


def test_split_size(config) -> int:
    """How many images the test split of ``config``'s data set holds (what :func:`reproduce.training.score_split`
    scores)."""
    return len(config.evaluation_set("test"))


def config_summary(config) -> str:
    """Two sentences: the network ``config`` (a :class:`~reproduce.training.TrainConfig`) trains, in words
    (:meth:`~reproduce.training.TrainConfig.describe`), and the fields that differ from TrainConfig's defaults, which
    are Section 6's recipe where the paper gives one, in field order, e.g. "... Where their configuration differs
    from TrainConfig's defaults: `width=0.25`, `batch_norm=True`."."""
    import dataclasses

    from ..training.config import TrainConfig

    defaults = TrainConfig()
    changed = [f"`{f.name}={getattr(config, f.name)!r}`" for f in dataclasses.fields(config)
               if f.name not in ("progress", "extra") and getattr(config, f.name) != getattr(defaults, f.name)]
    trained = f"These runs train {config.describe()}."
    if not changed:
        return f"{trained} They use TrainConfig's defaults throughout."
    return f"{trained} Where their configuration differs from TrainConfig's defaults: {', '.join(changed)}."


def configuration(run: str) -> str:
    """A run's configuration: its name without the seed (``"GoogLeNet (seed 1)"`` -> ``"GoogLeNet"``)."""
    return run.rsplit(" (seed ", 1)[0]


def seed_summary(scores: pd.DataFrame, test_images: int) -> pd.DataFrame:
    """Per configuration and weights: the seeds, and test top-1 as a mean over them with its 95% interval
    (:func:`reproduce.analysis.findings.mean_over_seeds`). ``scores``: rows of :func:`reproduce.training.loop.score_runs`."""
    from ..analysis.findings import mean_over_seeds

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


def paper_lr_table(results: dict, tests: dict, runs: list[str]) -> pd.DataFrame:
    """The paper's network at each learning rate tried (``runs``, the first the ablation's own row): its rate, test
    top-1 (``tests``: :func:`reproduce.training.score_split` by run) and final training loss of the main classifier."""
    return pd.DataFrame([{"run": name, "lr": results[name].config.lr, "test top-1": tests[name]["top1"],
                          "final training loss": results[name].steps[-1]["loss_main"]} for name in runs])


def style_paper_lr_table(table: pd.DataFrame):
    return table.style.format({"test top-1": "{:.1%}", "final training loss": "{:.3f}", "lr": "{:g}"}).hide(
        axis="index")


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
    from .claims import optimizer

    if best_lr is not None:
        choice = optimizer(top1_per_seed(scores, f"SGD, lr {best_lr:g}"), top1_per_seed(scores, "GoogLeNet"))
        return optimizer_sentence(choice, best_lr, base)
    if base.optimizer == "sgd":
        return "The main run uses the paper's SGD; no other optimizer was run."
    return f"The main run uses {base.optimizer}; this build trains no SGD (`sgd_lrs` is empty)."


def optimizer_sentence(choice: dict, best_lr: float, base) -> str:
    """What :func:`reproduce.book.claims.optimizer` found, in words, and what it means for the main run."""
    from .claims import SGD_MARGIN

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


def _points(x: float) -> str:
    """A share as signed percentage points, one decimal, never "-0.0"."""
    return f"{round(100 * x, 1) + 0.0:+.1f}"


def _error(outcome, members: int) -> str:
    """Top-1 error in percent with its 95% interval over the members and the images, from a row's ``outcome``."""
    from ..analysis.findings import over_members_and_images

    acc = over_members_and_images(outcome, members)
    return f"{100 * (1 - acc.estimate):.1f} (95% CI {100 * (1 - acc.high):.1f} to {100 * (1 - acc.low):.1f})"


def _change(finding) -> str:
    """A finding's change of accuracy as a change of error, signed points with the interval."""
    d = finding.difference
    return f"{_points(-d.estimate)} (95% CI {_points(-d.high)} to {_points(-d.low)})"


def table3_intervals(outcomes: dict, members: int, findings: list) -> pd.DataFrame:
    """Table 3's rows with intervals: for every ``(models, crops)`` of ``outcomes``
    (:func:`reproduce.evaluate.table3.outcomes` of ``members`` networks) the top-1 error with its 95% interval over
    the members and the images and, from ``findings`` (:func:`reproduce.book.claims.table3`, in the same order, the base
    row left out), the paired change against one model with one crop; and the test images."""
    rows = []
    changes = iter(findings)
    for (models, crops), outcome in outcomes.items():
        base = (models, crops) == (1, 1)
        rows.append({"models": models, "crops": crops, "cost": models * crops,
                     "top-1 error %": _error(outcome, members),
                     "change of error, points": "" if base else _change(next(changes)),
                     "test images": len(outcome([0]))})
    return pd.DataFrame(rows)


def pooling_table(mean: pd.DataFrame, maxed: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Table 3's rows of more than one crop with the mean over the crops (``mean``, :func:`reproduce.evaluate.table3`)
    and with their max (``maxed``): the table, and in how many of them the max is worse (``"3 of 4"``)."""
    table = pd.DataFrame({"models": mean["models"], "crops": mean["crops"],
                          "top-1 error %, mean over crops": mean["top1_error"],
                          "top-1 error %, max over crops": maxed["top1_error"]})
    table = table[table["crops"] > 1].reset_index(drop=True)
    worse = int((table["top-1 error %, max over crops"] > table["top-1 error %, mean over crops"]).sum())
    return table, f"{worse} of {len(table)}"


def style_pooling(table: pd.DataFrame):
    return table.style.format({c: "{:.2f}" for c in table.columns[2:]}).hide(axis="index")


def style_speeds(speeds: dict):
    """:func:`reproduce.perf.ensemble_comparison`'s model-images per second, one row per way."""
    table = pd.DataFrame([{"work": name, "model-images/s": value} for name, value in speeds["images_per_second"].items()])
    return table.style.format({"model-images/s": "{:,.0f}"}).hide(axis="index")


def evaluation_times(members: int, shared_epochs: int, train_seconds: float, settings) -> pd.DataFrame:
    """The Evaluation chapter's wall times: training (or reloading) the ``members``, and each crop setting of
    ``settings`` (:class:`reproduce.evaluate.table3.CropSettings`) with the images it scored."""
    shared = f" (after {shared_epochs} shared epoch{'s' if shared_epochs > 1 else ''})" if shared_epochs else ""
    images = {c: p.mean.shape[1] for c, p in {**settings.on_subset, **settings.every_image}.items()}
    return pd.DataFrame([{"work": f"train {members} members{shared}", "seconds": train_seconds}] +
                        [{"work": f"{members} models x {c} crops x {images[c]} images", "seconds": s}
                         for c, s in settings.seconds.items()])


def paper_table3_changes() -> str:
    """The paper's own changes of Table 3 against one model with one crop, in words, for comparison (top-5 error on
    ILSVRC 2014, points; computed from the table's errors)."""
    from ..paper import TABLE3

    base = TABLE3[0].top5_error
    parts = [f"{row.models} model{'s' if row.models > 1 else ''} x {row.crops} crop{'s' if row.crops > 1 else ''}: "
             f"{row.top5_error - base:+.2f}" for row in TABLE3[1:]]
    return (f"For comparison, the paper's changes of top-5 error against one model with one crop ({base:.2f}%), "
            f"in points: {'; '.join(parts)}.")


def learning_sentence(table: pd.DataFrame, chance: float, *, threshold: float = 0.5) -> str:
    """Which rows of :func:`ablation_table` learned: those whose mean test top-1 over seeds reaches ``threshold``,
    and those below it with their intervals, against ``chance``."""
    def shown(row):
        if row["seeds"] < 2:
            return f"{100 * row['top-1']:.1f}%"
        return f"{100 * row['top-1']:.1f}% (95% CI {100 * row['top-1 low']:.1f} to {100 * row['top-1 high']:.1f})"

    above = table[table["top-1"] >= threshold]
    below = table[table["top-1"] < threshold]
    text = (f"Chance is {chance:.0%}. {len(above)} of the {len(table)} rows reach {threshold:.0%} mean test top-1 "
            f"over their seeds")
    if len(below):
        text += "; below it: " + "; ".join(f"{row['run']}, {shown(row)}" for _, row in below.iterrows())
        at_chance = below[below["top-1 high"] < chance + 0.05]
        if len(at_chance):
            text += (f". {', '.join(at_chance['run'])} {'is' if len(at_chance) == 1 else 'are'} within 5 points of "
                     f"chance, so {'its' if len(at_chance) == 1 else 'their'} comparisons measure a network that "
                     f"has not started to learn, not the change")
    return text + "."


def table3_report_values(outcomes: dict, members: int, findings: list) -> dict[str, str]:
    """The reproduction report's Table 3 numbers (:data:`reproduce.book.summary.REPORTED`) from the rows of ``outcomes``
    (:func:`reproduce.evaluate.table3.outcomes` of ``members`` networks, every row on the same images) and their
    ``findings`` (:func:`reproduce.book.claims.table3`): the errors of the first and the last row, and the changes of error
    of the most crops, the ensemble and both, each with its 95% interval."""
    most, crops = max(m for m, _ in outcomes), max(c for _, c in outcomes)
    changes = dict(zip([key for key in outcomes if key != (1, 1)], findings))
    values = {"base_error": _error(outcomes[(1, 1)], members), "best_error": _error(outcomes[(most, crops)], members)}
    for name, key in (("crops_change", (1, crops)), ("ensemble_change", (most, 1)), ("both_change", (most, crops))):
        values[name] = _change(changes[key]) if key in changes else ""
    return values


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
    from . import claims

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


def miniature_runs(results: dict) -> pd.DataFrame:
    """Every run ``benchmarks/miniature.py`` measured (its JSON, read), one row each: ``network`` (the group), ``seed``,
    ``test top-1`` (Polyak-averaged weights, one centre crop), ``raw test top-1``, ``steps`` and ``seconds``."""
    return pd.DataFrame([{"network": run["group"], "seed": run["seed"],
                          "test top-1": run["test_top1"].get("polyak", run["test_top1"]["raw"]),
                          "raw test top-1": run["test_top1"]["raw"], "steps": run["steps"],
                          "seconds": run["seconds"]} for run in results["runs"]],
                        columns=["network", "seed", "test top-1", "raw test top-1", "steps", "seconds"])


def miniature_table(results: dict, *, half_width: float = 0.02) -> pd.DataFrame:
    """One row per network of :func:`miniature_runs`, in the sweep's order: its multiply-adds' ``block_scale``, the
    seeds, the mean test top-1 over them with its 95% interval, the seeds' standard deviation, the seeds a comparison
    with another network of that spread needs for an interval of +-``half_width``
    (:func:`reproduce.analysis.findings.seeds_for_half_width`), and the mean seconds of one run."""
    from ..analysis.findings import mean_over_seeds, seeds_for_half_width

    runs = miniature_runs(results)
    rows = []
    for network, group in results["groups"].items():
        top1 = runs.loc[runs["network"] == network, "test top-1"].to_numpy(dtype=float)
        if not top1.size:
            continue
        mean = mean_over_seeds(top1)
        sd = float(np.std(top1, ddof=1)) if top1.size > 1 else float("nan")
        rows.append({"network": network, "block scale": group.get("block_scale", 1.0), "seeds": int(top1.size),
                     "test top-1": mean.estimate, "low": mean.low, "high": mean.high, "seed sd": sd,
                     f"seeds for ±{100 * half_width:g} points": seeds_for_half_width(sd, half_width)
                     if top1.size > 1 else None,
                     "seconds per run": float(runs.loc[runs["network"] == network, "seconds"].mean())})
    return pd.DataFrame(rows)


def style_miniature(table: pd.DataFrame):
    """:func:`miniature_table`, accuracies and their spread in percent."""
    percent = {c: "{:.1%}" for c in ("test top-1", "low", "high", "seed sd") if c in table.columns}
    seeds = {c: "{:.0f}" for c in table.columns if str(c).startswith("seeds")}
    return table.style.format({**percent, **seeds, "block scale": "{:.3f}", "seconds per run": "{:,.0f}"},
                              na_rep=UNDEFINED).hide(axis="index")


def central_claim(results: dict) -> tuple[pd.DataFrame, list]:
    """What ``benchmarks/miniature.py`` measured (its JSON, read), as the Motivation chapter shows it: each network's
    :func:`miniature_table` row and the central claim's findings (:func:`reproduce.book.claims.central`) on the test
    top-1 of every seed, naming GoogLeNet's configuration and how far the runs were from converged."""
    from . import claims
    from ..training import TrainConfig

    per_network = miniature_runs(results).groupby("network", sort=False)["test top-1"].apply(list)
    network = TrainConfig.from_dict(results["groups"]["GoogLeNet"]).describe()
    caveat = f"validation top-1 still changed over the second half of the steps by {_second_half_gains(results)}"
    return miniature_table(results), claims.central(per_network.to_dict(), network=network, caveat=caveat)


def _second_half_gains(results: dict) -> str:
    """Each network's mean gain in validation top-1 (Polyak-averaged weights) over the second half of its steps in
    ``benchmarks/miniature.py``'s runs, as text: "GoogLeNet +16.8 points; ..."."""
    gains = {}
    for run in results["runs"]:
        curve = [row[3] if row[3] is not None else row[2] for row in run["curve"]]
        gains.setdefault(run["group"], []).append(curve[-1] - curve[len(curve) // 2 - 1])
    return "; ".join(f"{name} {100 * np.mean(gain):+.1f} points" for name, gain in gains.items())


def miniature_caveat(results: dict) -> str:
    """How far ``benchmarks/miniature.py``'s runs were from converged: each network's mean gain in validation top-1
    (Polyak-averaged weights) over the second half of its steps, which a converged run would not have."""
    return (f"Over the second half of their steps the networks' validation top-1 still changed by "
            f"{_second_half_gains(results)} on average: the runs had not converged, and a verdict here is on "
            f"networks trained this long, not on converged ones.")
