"""The Beyond-v1 chapter's tables and sentences: the Inception-v3 ablation's rows over seeds and the paper's
network at its learning rates."""

from __future__ import annotations

import pandas as pd

from ..formatting import configuration, human


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
    parent row), with the pooled two-sample interval over the two rows' seeds and the verdict of
    :func:`reproduce.book.claims.ablation`. ``params`` and
    ``multiply-adds`` are those of the inference network (no auxiliary heads, one image at the run's
    ``image_size``), counted with :mod:`reproduce.analysis.costs`; ``images`` are the training images one run saw,
    ``seconds``
    the training time of the row's runs together, as each run recorded it (a run another chapter trained and this
    one reloaded counts its own training), and ``images/s`` their mean training throughput.
    """
    from .. import claims
    from ...analysis.findings import mean_over_seeds
    from ...training.ablation import STEPS, inference_costs

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


def paper_lr_table(results: dict, tests: dict, runs: list[str]) -> pd.DataFrame:
    """The paper's network at each learning rate tried (``runs``, the first the ablation's own row): its rate, test
    top-1 (``tests``: :func:`reproduce.training.score_split` by run) and final training loss of the main classifier."""
    return pd.DataFrame([{"run": name, "lr": results[name].config.lr, "test top-1": tests[name]["top1"],
                          "final training loss": results[name].steps[-1]["loss_main"]} for name in runs])


def style_paper_lr_table(table: pd.DataFrame):
    return table.style.format({"test top-1": "{:.1%}", "final training loss": "{:.3f}", "lr": "{:g}"}).hide(
        axis="index")


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
