"""The Architecture chapter's tables and sentences: Table 1 as the model computes it beside the paper's, and the
rows printed otherwise."""

from __future__ import annotations

import pandas as pd

from ..formatting import human, listed


def style_table1(table: pd.DataFrame):
    """Table 1 with counts in the paper's K/M notation, differences in percent, and every difference whose count
    does not round to the printed number (the ``as printed`` columns of :func:`reproduce.analysis.costs.table1`, which
    are not
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


def rows_off_sentence(off: dict[str, list[str]]) -> str:
    """Which rows of Table 1 do not round to the printed counts (:func:`reproduce.analysis.costs.rows_not_as_printed`),
    in
    words."""
    parts = [f"{'the parameters' if column == 'params' else 'the multiply-adds'} of {len(rows)} row"
             f"{'s' if len(rows) > 1 else ''} ({listed([row.removeprefix('inception') for row in rows])})"
             for column, rows in off.items() if rows]
    if not parts:
        return "Every count rounds to the number the paper prints."
    return "Counted from the filters, " + " and ".join(parts) + " do not round to the numbers the paper prints."
