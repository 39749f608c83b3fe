"""Tables for the book: number formats and highlighting, so notebooks stay thin."""

from __future__ import annotations

import math

import pandas as pd


def human(n: float) -> str:
    """1234 -> '1.23K', 1_582_671_872 -> '1.58G' (three significant digits, the paper's K and M)."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.3g}{unit}"
    return f"{n:g}"


def style_table1(table: pd.DataFrame, tolerance: float = 1.0):
    """Table 1 with counts in the paper's K/M notation and every difference from the printed numbers larger than
    ``tolerance`` percent highlighted."""
    counts = ["params", "params (paper)", "ops", "ops (paper)"]
    diffs = ["params diff %", "ops diff %"]

    def mark(value):
        return "background-color: #f8d0c8; font-weight: bold" if pd.notna(value) and abs(value) > tolerance else ""

    return (table.style
            .format(lambda v: "" if pd.isna(v) else human(v), subset=counts)
            .format(lambda v: "" if pd.isna(v) else f"{v:+.1f}%", subset=diffs)
            .format(lambda v: "" if pd.isna(v) else f"{v}",
                    subset=[c for c in table.columns if c not in counts + diffs])
            .map(mark, subset=diffs)
            .hide(axis="index"))


def style_counts(table: pd.DataFrame):
    """Any table of counts: integers with thousands separators, ratios with two decimals."""
    formats = {c: ("{:,.0f}" if pd.api.types.is_integer_dtype(table[c]) else "{:.2f}")
               for c in table.columns if pd.api.types.is_numeric_dtype(table[c])}
    return table.style.format(formats)


def run_frames(results: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per-step losses and the per-epoch history of several training runs (``{name: TrainResult}``), each as
    one long table with a ``run`` column, ready for :func:`reproduce.figures.loss_curves` and
    :func:`reproduce.figures.accuracy_curves`."""
    steps = pd.concat([pd.DataFrame(r.steps).assign(run=name) for name, r in results.items()], ignore_index=True)
    history = pd.concat([pd.DataFrame(r.history).assign(run=name) for name, r in results.items()],
                        ignore_index=True)
    return steps, history


def table3_with_paper(ours: pd.DataFrame) -> pd.DataFrame:
    """Table 3 in miniature (:func:`reproduce.evaluate.table3`) next to the paper's Table 3: a row of ours is matched
    with the paper's row of the same number of crops and the same kind of predictor (one model, or the ensemble).
    The paper reports top-5 error on 1,000 classes; with 10 classes top-1 error is the informative one, so both of
    ours are shown."""
    from .paper import TABLE3

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


def binomial_se(accuracy: float, n: int) -> float:
    """Standard error of an accuracy measured on ``n`` independent test images: sqrt(p (1 - p) / n)."""
    return math.sqrt(max(accuracy * (1 - accuracy), 0.0) / n)


def difference_se(a: float, b: float, n: int) -> float:
    """Standard error of the difference of two accuracies, each on ``n`` test images, treated as independent (the
    same test images make them positively correlated, so this overstates the noise a little: a conservative
    yardstick)."""
    return math.hypot(binomial_se(a, n), binomial_se(b, n))


ABLATION_COLUMNS = ("run", "change", "top-1", "top-1 s.e.", "top-1 vs row before", "top-5", "params",
                    "multiply-adds", "epochs", "images", "seconds", "images/s")


def ablation_table(results: dict, tests: dict[str, dict[str, float]], seconds: dict[str, float], *,
                   test_images: int, num_classes: int | None = None) -> pd.DataFrame:
    """The Inception-v3 ablation (:func:`reproduce.training.ablation.inception_v3_ablation`) as one table, a row per
    run in the order of ``results``.

    ``results``: ``{name: TrainResult}`` (anything with ``config`` and ``history``); ``tests``: each run's
    ``{"top1", "top5"}`` on the test split (``test_images`` images); ``seconds``: each run's measured wall time.
    ``params`` and ``multiply-adds`` are those of the inference network (no auxiliary heads, one image at the run's
    ``image_size``), counted with :mod:`reproduce.costs`; ``images`` are the training images the run saw and
    ``images/s`` its mean training throughput. ``top-1 vs row before`` compares a row with the one it changes (the
    ablation's parent row), ``top-1 s.e.`` is the binomial standard error of its top-1.
    """
    from .training.ablation import STEPS, inference_costs

    steps = {step.name: step for step in STEPS}
    rows = []
    for name, result in results.items():
        config, history = result.config, list(result.history)
        classes = num_classes if num_classes is not None else result.model.fc.out_features
        cost = inference_costs(config, classes)
        step = steps.get(name)
        top1 = tests[name]["top1"]
        parent = step.parent if step is not None else None
        rows.append({
            "run": name, "change": step.change if step is not None else "",
            "top-1": top1, "top-1 s.e.": binomial_se(top1, test_images),
            "top-1 vs row before": top1 - tests[parent]["top1"] if parent in tests else float("nan"),
            "top-5": tests[name]["top5"], "params": cost["params"], "multiply-adds": cost["macs"],
            "epochs": len(history), "images": history[-1]["steps"] * config.batch_size if history else 0,
            "seconds": seconds[name],
            "images/s": sum(h["images_per_second"] for h in history) / len(history) if history else float("nan"),
        })
    return pd.DataFrame(rows, columns=list(ABLATION_COLUMNS))


def style_ablation(table: pd.DataFrame):
    """:func:`ablation_table` for the book: accuracies in percent, the change from the row before in percentage
    points, costs in K/M, seconds and images/s rounded, no index."""
    return (table.style
            .format("{:.1%}", subset=["top-1", "top-5"])
            .format(lambda v: f"±{100 * v:.1f}", subset=["top-1 s.e."])
            .format(lambda v: "" if pd.isna(v) else f"{100 * v:+.1f}", subset=["top-1 vs row before"])
            .format(human, subset=["params", "multiply-adds"])
            .format("{:,.0f}", subset=["images", "seconds", "images/s"])
            .hide(axis="index"))
