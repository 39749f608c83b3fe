"""The Evaluation chapter's scoring of its members, and its tables and sentences: Table 3 in miniature beside the
paper's, with its intervals, the pooling of crops, the speed test and the chapter's times (Section 7)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import pandas as pd


def score_members(results: Sequence, models: Sequence, config, *, runs_dir: Optional[str], weights: str,
                  test_images: Optional[int], many_crop_images: Optional[int], crop_counts: Sequence[int]):
    """Table 3's scoring of the ``models`` (the ``results``' weights, ``weights`` of each) on the test split of
    ``config`` (:func:`reproduce.evaluate.table3.score_test_split`). With a ``runs_dir``, the probabilities are kept
    in ``RUNS_DIR/crops/scoring-<hash>`` as they are computed (a rerun resumes, a finished scoring is read back), and
    on a machine of several GPUs they are computed by one process per GPU first
    (:func:`reproduce.training.launch.score_on_all_devices`). Returns the settings and the images' classes."""
    from ...evaluate.kept import scoring_folder
    from ...evaluate.table3 import score_test_split
    from ...training.launch import score_on_all_devices

    scoring = dict(test_images=test_images, many_crop_images=many_crop_images, crop_counts=crop_counts)
    keep = scoring_folder(Path(runs_dir) / "crops", models, **scoring) if runs_dir else None
    if keep is not None:
        score_on_all_devices(results, keep, weights=weights, **scoring)
    return score_test_split(models, config, **scoring, keep=keep)


def table3_with_paper(ours: pd.DataFrame) -> pd.DataFrame:
    """Table 3 in miniature (:func:`reproduce.evaluate.table3`) next to the paper's Table 3: a row of ours is matched
    with the paper's row of the same number of crops and the same kind of predictor (one model, or the ensemble).
    The paper reports top-5 error on 1,000 classes; with 10 classes top-1 error is the informative one, so both of
    ours are shown."""
    from ...paper import TABLE3

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


def _points(x: float) -> str:
    """A share as signed percentage points, one decimal, never "-0.0"."""
    return f"{round(100 * x, 1) + 0.0:+.1f}"


def _error(outcome, members: int) -> str:
    """Top-1 error in percent with its 95% interval over the members and the images, from a row's ``outcome``."""
    from ...analysis.findings import over_members_and_images

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
    from ...paper import TABLE3

    base = TABLE3[0].top5_error
    parts = [f"{row.models} model{'s' if row.models > 1 else ''} x {row.crops} crop{'s' if row.crops > 1 else ''}: "
             f"{row.top5_error - base:+.2f}" for row in TABLE3[1:]]
    return (f"For comparison, the paper's changes of top-5 error against one model with one crop ({base:.2f}%), "
            f"in points: {'; '.join(parts)}.")


def table3_report_values(outcomes: dict, members: int, findings: list) -> dict[str, str]:
    """The reproduction report's Table 3 numbers (:data:`reproduce.book.summary.REPORTED`) from the rows of ``outcomes``
    (:func:`reproduce.evaluate.table3.outcomes` of ``members`` networks, every row on the same images) and their
    ``findings`` (:func:`reproduce.book.claims.table3`): the errors of the first and the last row, and the changes of
    error
    of the most crops, the ensemble and both, each with its 95% interval."""
    most, crops = max(m for m, _ in outcomes), max(c for _, c in outcomes)
    changes = dict(zip([key for key in outcomes if key != (1, 1)], findings))
    values = {"base_error": _error(outcomes[(1, 1)], members), "best_error": _error(outcomes[(most, crops)], members)}
    for name, key in (("crops_change", (1, crops)), ("ensemble_change", (most, 1)), ("both_change", (most, crops))):
        values[name] = _change(changes[key]) if key in changes else ""
    return values
