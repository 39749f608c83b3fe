"""The Motivation chapter's tables and sentences: the bottleneck's savings, receptive fields against the image, and
the paper's central claim on the miniature (Sections 1, 3 and 9)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..formatting import UNDEFINED, human, listed


def seen_whole(fields: pd.Series, diameters: dict[str, float]) -> str:
    """Which branches of one module (``fields``: branch -> receptive field in pixels, as a row of
    :func:`reproduce.analysis.receptive.branch_fields`) see each object whole (``diameters``: name -> the object's
    diameter in
    pixels), in words."""
    sentences = []
    for name, diameter in diameters.items():
        whole = [branch for branch, field in fields.items() if field >= diameter]
        where = (f"the {listed(whole)} branch{'es' if len(whole) > 1 else ''}" if whole
                 else f"no branch of {fields.name}")
        sentences.append(f"The {name} object ({diameter:.0f} px) fits whole in the field of {where}.")
    return " ".join(sentences) + " Units with small fields see parts of the large objects, which later modules combine."


def bottleneck_values(savings: pd.DataFrame, total_ops: int) -> dict[str, str]:
    """The Motivation chapter's numbers on the 1x1 reductions, from
    :func:`reproduce.analysis.costs.bottleneck_savings`: the
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
    from ...analysis.findings import mean_over_seeds, seeds_for_half_width

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
    from .. import claims
    from ...training import TrainConfig

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
