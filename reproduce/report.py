"""Tables for the book: number formats and highlighting, so notebooks stay thin."""

from __future__ import annotations

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
