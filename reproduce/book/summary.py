"""The reproduction report: what the book reproduces exactly, computed here, and what it reproduces in miniature, read
from the results of a run of the book (``python -m reproduce book``, which writes ``RUN/results/<notebook>.json``
with every value each executed notebook glued)."""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

import pandas as pd

from ..analysis import costs
from .. import paper
from ..evaluate import crop_boxes_144


def exact_checks() -> pd.DataFrame:
    """The paper's statements about the network and its test-time crops that need no training, each against what the
    code gives: one row per statement, with ``agrees`` where the two match (costs within 1%; a Table 1 row agrees when
    its multiply-adds round to the printed number at the precision it is printed with)."""
    table = costs.table1()
    totals = costs.summary()
    rows_with_ops = table.drop(index="total")
    rows_with_ops = rows_with_ops[rows_with_ops["ops (paper)"].notna() & (rows_with_ops["ops (paper)"] > 0)]
    off = rows_with_ops.loc[costs.rows_not_as_printed(rows_with_ops)["ops"], "ops diff %"]
    within = len(rows_with_ops) - len(off)
    audit = costs.table1_audit()
    boxes = crop_boxes_144(256, 341)
    params_total = int(table.loc["total", "params (paper)"])
    rows = [
        ("layers with parameters (Section 5)", paper.DEPTH_WITH_PARAMETERS, totals["depth"], ""),
        ("layers counting pooling (Section 5)", paper.DEPTH_WITH_POOLING, totals["depth with pooling"], ""),
        ("Table 1 rows whose multiply-adds the filter counts give (to the printed precision)", len(rows_with_ops),
         within,
         "off: " + ", ".join(f"{key} {diff:+.1f}%" for key, diff in off.items())),
        ("multiply-adds at inference (Section 1), with Table 1's separable first layer",
         paper.INFERENCE_MULTIPLY_ADDS, audit["total_ops_separable_conv1"], ""),
        ("multiply-adds at inference, the first layer a dense 7x7 convolution (BVLC Caffe's conv1/7x7_s2)",
         paper.INFERENCE_MULTIPLY_ADDS, totals["ops"],
         f"{totals['ops'] / paper.INFERENCE_MULTIPLY_ADDS - 1:+.1%}: the paper says only \"convolution 7x7/2\"; "
         f"either first layer is consistent with its round budget"),
        ("parameters, the sum of Table 1's column", params_total, totals["params"],
         f"{totals['params'] / params_total - 1:+.1%}: the column disagrees with the table's own filter counts"),
        ("crops per test image (Section 7)", 144, len(boxes), ""),
        ("distinct crop regions per image, mirrored ones counted once", 72,
         len({(b.scale, b.square, b.kind) for b in boxes}), ""),
    ]
    frame = pd.DataFrame(rows, columns=["statement", "paper", "this book", "note"])
    frame.insert(3, "agrees", [abs(ours - theirs) <= 0.01 * theirs
                               for theirs, ours in zip(frame["paper"], frame["this book"])])
    return frame


class Reported(NamedTuple):
    """A number the report collects: glued as ``name`` by ``notebook``; ``paper`` is the paper's counterpart."""

    notebook: str
    name: str
    what: str
    paper: Optional[str] = None


def _table3(models: int, crops: int) -> float:
    return next(row.top5_error for row in paper.TABLE3 if row.models == models and row.crops == crops)


_BASE = _table3(1, 1)
#: What the report takes from each chapter's executed notebook, in the order it shows them.
REPORTED = (
    Reported("data", "linear_test", "test top-1 of a linear classifier on raw pixels"),
    Reported("training", "test_top1", "test top-1, GoogLeNet with auxiliary heads, Polyak-averaged weights (mean over "
                                      "seeds, 95% CI)"),
    Reported("training", "test_top1_raw", "the same, raw weights"),
    Reported("training", "test_top1_noaux", "the same network without auxiliary heads, Polyak-averaged"),
    Reported("evaluation", "base_error", "top-1 error %, one model, one crop (95% CI)", f"{_BASE:.2f} (top-5)"),
    Reported("evaluation", "crops_change", "change with 144 crops (points, paired 95% CI)",
             f"{_table3(1, 144) - _BASE:+.2f}"),
    Reported("evaluation", "ensemble_change", "change with the ensemble (points)", f"{_table3(7, 1) - _BASE:+.2f}"),
    Reported("evaluation", "both_change", "change with both (points)", f"{_table3(7, 144) - _BASE:+.2f}"),
    Reported("evaluation", "best_error", "top-1 error %, the ensemble with 144 crops",
             f"{_table3(7, 144):.2f} (top-5)"),
    Reported("beyond", "top1_paper", "test top-1, the paper's network (equal short budget for every row; mean over "
                                    "seeds, 95% CI)"),
    Reported("beyond", "top1_bn", "+ batch norm"),
    Reported("beyond", "top1_v3", "+ factorized 5x5, label smoothing, BN-auxiliary"),
    Reported("beyond", "top1_no_aux", "the same without auxiliary heads"),
    Reported("branches", "verdict", "do the 3x3 and 5x5 branches matter more with depth? the data ...",
             "claims they should"),
)


def parameters_text(parameters: dict[str, Any]) -> str:
    """A notebook's parameters as the report lists them: ``name=value``, the fields of its ``config`` (what its runs
    change of the book's TrainConfig) first, as if each were a parameter of its own."""
    flat = {**parameters.get("config", {}), **{k: v for k, v in parameters.items() if k != "config"}}
    return ", ".join(f"{k}={v}" for k, v in flat.items())


def miniature_results(results: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The numbers of :data:`REPORTED` from a run's results (:func:`reproduce.book.runner.read_results`), with the
    paper's counterpart and what each chapter was executed with; a chapter that was not run, or a value it did not
    glue, is left empty."""
    rows = []
    for item in REPORTED:
        record = results.get(item.notebook, {})
        rows.append({"chapter": item.notebook, "result": item.what,
                     "this book": record.get("values", {}).get(item.name), "paper": item.paper,
                     "parameters": parameters_text(record.get("parameters", {})) or
                                   ("defaults" if record else None)})
    return pd.DataFrame(rows)


def chapter_times(results: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Each executed notebook's wall time, device and threads, from a run's results, in the book's order."""
    from .notebooks import NOTEBOOKS

    return pd.DataFrame([{"notebook": n.name, "minutes": results[n.name]["seconds"] / 60,
                          "device": results[n.name]["device"], "threads": results[n.name]["threads"],
                          "git commit": results[n.name]["git_commit"][:12]} for n in NOTEBOOKS if n.name in results])


FINDINGS_COLUMNS = ["chapter", "claim", "network", "measured", "change (points, 95% CI)", "n", "verdict", "caveat"]


def findings_table(results: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Every finding the chapters glued (``values["findings"]`` of each notebook's results), one row each, in the
    book's order (the paper's own claims before Beyond v1's): the chapter, the claim, the network it was measured
    on (as trained), what was measured, the change in points with its 95% interval, on how many seeds or images,
    the verdict and the caveat of the design that bears on it."""
    import json

    from ..analysis.findings import from_dict
    from .notebooks import NOTEBOOKS

    rows = []
    for notebook in NOTEBOOKS:
        text = results.get(notebook.name, {}).get("values", {}).get("findings")
        for values in json.loads(text) if text else []:
            rows.append({"chapter": notebook.name, **from_dict(values).row()})
    return pd.DataFrame(rows, columns=FINDINGS_COLUMNS)


def front_table(results: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The front page's table: each claim the book checks (:func:`findings_table`), the network it was checked on,
    the change with its interval and verdict, and the caveat, with "none recorded" where a chapter named none."""
    table = findings_table(results)
    return pd.DataFrame({"claim": table["claim"], "checked on": table["network"].fillna("not recorded"),
                         "change of top-1 (points, 95% CI)": table["change (points, 95% CI)"] + ", " + table["n"],
                         "verdict": table["verdict"], "caveat": table["caveat"].fillna("none recorded")})
