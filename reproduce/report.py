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
