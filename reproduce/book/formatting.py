"""How the book's numbers and runs read in its tables and sentences: number formats, lists, the description of a
run's configuration, and the frames of a set of runs, shared by the chapters (:mod:`.chapters`) and the figures."""

from __future__ import annotations

import numpy as np
import pandas as pd


def human(n: float) -> str:
    """1234 -> '1.23K', 1_582_671_872 -> '1.58G' (three significant digits, the paper's K and M)."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.3g}{unit}"
    return f"{n:g}"


def listed(names: list[str]) -> str:
    """``["a", "b", "c"]`` -> ``"a, b and c"``: names in a sentence."""
    return f"{', '.join(names[:-1])} and {names[-1]}" if len(names) > 1 else names[0]


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
