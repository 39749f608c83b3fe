"""The book's table formatting and figures show what the tables hold."""

import math

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from reproduce.analysis import costs
from reproduce.book import figures, formatting
from reproduce.book.chapters import architecture as architecture_chapter
from reproduce.book.chapters import beyond as beyond_chapter
from reproduce.book.chapters import motivation as motivation_chapter
from reproduce.book.chapters import training as training_chapter
from reproduce import naive_vs_reduced, paper, table1


def test_human_uses_three_significant_digits_and_k_m_g():
    assert [formatting.human(n) for n in (950, 1234, 34_019_328, 1_582_671_872)] == ["950", "1.23K", "34M", "1.58G"]


def test_style_table1_highlights_the_counts_that_do_not_round_to_the_printed_ones():
    table = table1()
    html = architecture_chapter.style_table1(table).to_html()
    highlighted_rule = html.split("background-color: #f8d0c8")[0].rsplit("}", 1)[-1]  # "#T_x_row0_col12, ... {"
    off = costs.rows_not_as_printed(table)
    assert highlighted_rule.count("#T_") == len(off["params"]) + len(off["ops"]) == 15
    assert "+250.8%" in html and "118M" in html and "9.47K" in html and "as printed" not in html
    # the fc row: 1,024,000 multiply-adds against the printed "1M" is not highlighted, though 2.4% apart
    row = list(table.index).index("fc")
    ops_column = list(table.columns).index("ops diff %")
    assert f"#T_{highlighted_rule.split('#T_')[1].split('_row')[0]}_row{row}_col{ops_column}" not in highlighted_rule


def test_printed_counts_are_read_with_their_precision():
    assert [paper.printed_value(t) for t in ("2.7K", "34M", "1000K", "1M")] == [2700, 34_000_000, 1_000_000, 1_000_000]
    assert [paper.printed_step(t) for t in ("2.7K", "34M", "1000K", "1M")] == [100, 1_000_000, 1000, 1_000_000]


def test_style_counts_formats_integers_with_separators():
    html = formatting.style_counts(pd.DataFrame({"params": [6998552], "ratio": [2.3699]})).to_html()
    assert "6,998,552" in html and "2.37" in html


def test_the_widening_table_shows_its_widths_as_numbers_and_the_first_rows_undefined_growth_as_a_dash():
    from bs4 import BeautifulSoup

    widths = (0.5, 0.75, 1.0, 1.5)
    table = costs.widening(widths, input_size=32)
    body = BeautifulSoup(formatting.style_counts(table).to_html(), "html.parser").tbody
    rows = [[cell.get_text() for cell in row.find_all(["th", "td"])] for row in body.find_all("tr")]
    assert [row[0] for row in rows] == ["0.5", "0.75", "1", "1.5"]
    columns = list(table.columns)
    growth = [1 + columns.index(c) for c in ("params growth exponent", "ops growth exponent")]
    assert [rows[0][i] for i in growth] == [formatting.UNDEFINED] * 2  # nothing before the first width to grow from
    for row, width in zip(rows[1:], widths[1:]):  # the rest: the log-log slope from the previous width, 2 decimals
        previous = widths[widths.index(width) - 1]
        for i, column in zip(growth, ("params", "ops")):
            slope = math.log(table.loc[width, column] / table.loc[previous, column]) / math.log(width / previous)
            assert row[i] == f"{slope:.2f}"
    assert rows[1][1 + columns.index("params")] == f"{table.loc[0.75, 'params']:,}"
    assert not any(text in cell for row in rows for cell in row for text in ("nan", "0.500000"))


def bars(ax):
    return sum(len(container) for container in ax.containers)


def test_figures_draw_one_bar_per_row_and_source():
    table = table1()
    fig = figures.costs_per_row(table)
    rows_with_params = int((table.drop(index="total")["params"] > 0).sum())
    assert [bars(ax) for ax in fig.axes] == [2 * rows_with_params] * 2
    naive = naive_vs_reduced()
    assert bars(figures.naive_vs_reduced(naive).axes[0]) == 3 * len(naive)
    lines = figures.activation_scales({"a": {"x": 1.0, "y": 0.5}, "b": {"x": 2.0, "y": 1.0}}).axes[0].lines
    assert [list(line.get_ydata()) for line in lines] == [[1.0, 0.5], [2.0, 1.0]]


def test_image_grid_shows_each_image_once_with_its_title():
    import torch

    from reproduce.book.figures import image_grid

    images = [torch.full((3, 8, 8), 40 * i, dtype=torch.uint8) for i in range(5)]
    fig = image_grid(images, [f"image {i}" for i in range(5)], columns=3)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 6 and len(shown) == 5
    assert [ax.get_title() for ax in shown] == [f"image {i}" for i in range(5)]
    assert shown[2].images[0].get_array()[0, 0, 0] == 80 / 255


def test_loss_curves_draw_one_line_per_run_and_loss_and_skip_missing_aux_losses():
    steps = pd.DataFrame({"run": ["a"] * 3 + ["b"] * 3, "step": [10, 20, 30] * 2,
                          "loss_main": [2.0, 1.0, 0.5, 2.2, 1.2, 0.6],
                          "loss_aux1": [2.1, 1.5, 1.0, None, None, None],
                          "loss_aux2": [2.1, 1.4, 0.9, None, None, None]})
    fig = figures.loss_curves(steps, smooth=1)
    assert [len(ax.lines) for ax in fig.axes] == [2, 1, 1]  # run "b" has no auxiliary heads
    assert list(fig.axes[0].lines[1].get_ydata()) == [2.2, 1.2, 0.6]
    smoothed = figures.loss_curves(steps, smooth=3).axes[0].lines[0].get_ydata()
    assert list(smoothed) == [1.5, 3.5 / 3, 0.75]


def test_accuracy_curves_show_polyak_dashed_only_where_a_run_has_it():
    history = pd.DataFrame({"run": ["a", "a", "b", "b"], "epoch": [1, 2, 1, 2], "val_top1": [0.2, 0.5, 0.3, 0.6],
                            "polyak_val_top1": [0.1, 0.55, None, None]})
    lines = figures.accuracy_curves(history).axes[0].lines
    assert [line.get_linestyle() for line in lines] == ["-", "--", "-"]
    assert list(lines[1].get_ydata()) == [0.1, 0.55]


def test_run_frames_stack_runs_with_their_names():
    from types import SimpleNamespace

    a = SimpleNamespace(steps=[{"step": 10, "loss_main": 2.0}], history=[{"epoch": 1, "val_top1": 0.3}])
    b = SimpleNamespace(steps=[{"step": 10, "loss_main": 1.5}, {"step": 20, "loss_main": 1.0}],
                        history=[{"epoch": 1, "val_top1": 0.4}])
    steps, history = formatting.run_frames({"a": a, "b": b})
    assert list(steps["run"]) == ["a", "b", "b"] and list(steps["loss_main"]) == [2.0, 1.5, 1.0]
    assert list(history["run"]) == ["a", "b"] and list(history["val_top1"]) == [0.3, 0.4]


def test_crops_144_places_each_crop_by_scale_square_and_kind():
    import torch

    from reproduce.evaluate import crop_boxes_144, paper_crops_144

    image = torch.rand(3, 60, 80)
    crops, boxes = paper_crops_144(image, 32), crop_boxes_144(60, 80, 32)
    fig = figures.crops_144(crops, boxes)
    assert len(fig.axes) == 144 and all(len(ax.images) == 1 for ax in fig.axes)
    grid = [[fig.axes[12 * r + c] for c in range(12)] for r in range(12)]
    assert grid[0][0].get_title() == "top-left" and grid[0][11].get_title() == "whole\nsquare\n(mirror)"
    assert grid[5][0].get_ylabel() == "41 px\nlast"  # the second scale (32 px crops: 37, 41, 46, 50), last square
    mirrored_centre = crops[72 + 6 * 5 + 4].permute(1, 2, 0).numpy()
    assert (grid[5][10].images[0].get_array() == mirrored_centre).all()


def test_the_rows_that_do_not_round_to_the_printed_counts_are_named():
    text = architecture_chapter.rows_off_sentence(costs.rows_not_as_printed(table1()))
    assert "the multiply-adds of 3 rows (conv1, 4a and 5a)" in text and "the parameters of 12 rows" in text
    assert architecture_chapter.rows_off_sentence({"params": [], "ops": []}) == "Every count rounds to the number the paper prints."


def test_run_lookups_and_tables_read_what_the_runs_hold():
    scores = pd.DataFrame([{"run": f"GoogLeNet (seed {k})", "seed": k, "weights": w, "top1": v}
                           for k, w, v in ((1, "Polyak", 0.8), (0, "Polyak", 0.7), (0, "raw", 0.6),
                                           (0, "paper's augmentation", 0.1))]
                          + [{"run": "paper's augmentation (seed 0)", "seed": 0, "weights": "Polyak", "top1": 0.55}])
    assert training_chapter.top1_per_seed(scores, "GoogLeNet") == [0.7, 0.8]  # in the order of the seeds
    assert training_chapter.top1_per_seed(scores, "GoogLeNet", "raw") == [0.6]
    text = training_chapter.augmentation_sentence(scores, "paper's augmentation (seed 0)", "GoogLeNet (seed 0)")
    assert "reaches 55.0% test top-1, against 70.0% with flips only; one seed each" in text
    assert training_chapter.augmentation_sentence(scores, "missing (seed 0)", "GoogLeNet (seed 0)").startswith("No run")

    class Run:
        def __init__(self, lr, loss, speeds):
            self.config = type("Config", (), {"lr": lr})()
            self.steps = [{"loss_main": 9.0}, {"loss_main": loss}]
            self.history = [{"images_per_second": s} for s in speeds]

    results = {"a": Run(0.01, 2.3, [100, 300]), "b": Run(0.001, 0.4, [50])}
    times = training_chapter.run_times(results, {"a": 12.0, "b": 3.0})
    assert times.to_dict("records") == [{"run": "a", "seconds": 12.0, "images/s": 200.0},
                                        {"run": "b", "seconds": 3.0, "images/s": 50.0}]
    lrs = beyond_chapter.paper_lr_table(results, {"a": {"top1": 0.1}, "b": {"top1": 0.6}}, ["b", "a"])
    assert lrs.to_dict("records") == [{"run": "b", "lr": 0.001, "test top-1": 0.6, "final training loss": 0.4},
                                      {"run": "a", "lr": 0.01, "test top-1": 0.1, "final training loss": 2.3}]


def test_the_convergence_section_reads_every_run_and_says_how_to_make_a_missing_file(tmp_path):
    runs, table, text = training_chapter.convergence_section(tmp_path / "convergence.json", 450)
    assert runs is None and table is None and "python benchmarks/convergence.py` writes it" in text
    assert text.endswith("This build trains every run for 450 steps.")
    import json
    from pathlib import Path

    committed = Path(__file__).parent.parent / "benchmarks" / "results" / "convergence.json"
    measured = json.loads(committed.read_text())
    runs, table, text = training_chapter.convergence_section(committed, 450)
    assert len(table) and f"(Measured on {measured['device']}.)" in text
    assert len(runs) == len(measured["runs"]) == table["seeds"].sum()  # every run once, in the figure and the table
    # each run as the file has it: its seed and Polyak top-1, its length from its epochs and batch size
    expected = sorted((r["seed"], r["polyak_val_top1"], r["options"]["epochs"] * 4800 // r["options"]["batch_size"])
                      for r in measured["runs"])
    assert measured["train_images"] == 4800
    assert sorted(zip(runs["seed"], runs["val top-1"], runs["steps"])) == expected
    assert set(runs["family"]) == set(training_chapter.CONVERGENCE_FAMILIES)
    sgd = runs[runs["family"] == "SGD, momentum 0.9"]
    assert sgd["configuration"].str.startswith("SGD lr ").all()
    assert len(sgd) == sum(r["options"]["optimizer"] == "sgd" for r in measured["runs"])
    no_bn = runs[runs["family"] == "AdamW, no batch norm (the paper's network)"]
    assert len(no_bn) == sum(not r["options"]["batch_norm"] for r in measured["runs"])
    # the table's means are the runs' means, configuration by configuration
    merged = runs.groupby(["configuration", "steps"])["val top-1"].mean()
    assert table.set_index(["configuration", "steps"])["val top-1, mean"].sort_index().tolist() == pytest.approx(
        merged.sort_index().tolist())


def test_names_are_listed_as_a_sentence_lists_them():
    assert [formatting.listed(n) for n in (["a"], ["a", "b"], ["a", "b", "c"])] == ["a", "a and b", "a, b and c"]


def test_config_summary_names_exactly_the_fields_that_differ_from_trainconfigs_defaults():
    from reproduce.book.formatting import config_summary
    from reproduce.training import TrainConfig

    default = TrainConfig()
    assert config_summary(default) == f"These runs train {default.describe()}. They use TrainConfig's defaults throughout."
    changed = TrainConfig(width=0.25, optimizer="adamw", progress=False)
    text = config_summary(changed)
    assert text == (f"These runs train {changed.describe()}. Where their configuration differs from TrainConfig's "
                    "defaults: `width=0.25`, `optimizer='adamw'`.")  # in field order; progress bars are not part of a run's configuration


def test_the_miniature_table_states_each_networks_mean_spread_and_the_seeds_a_2_point_interval_needs():
    import numpy as np
    from scipy import stats

    from reproduce.analysis.findings import seeds_for_half_width

    from reproduce.training import MINIATURE_CONFIG

    def run(group, seed, polyak, raw, seconds):  # validation top-1 (raw, Polyak) after each of two epochs
        return {"group": group, "seed": seed, "seconds": seconds, "steps": 3000,
                "curve": [[1, 1, 0.2, 0.3], [2, 2, raw, polyak]], "test_top1": {"raw": raw, "polyak": polyak}}

    results = {"groups": {"GoogLeNet": MINIATURE_CONFIG.to_dict(),
                          "plain 3x3 stack": MINIATURE_CONFIG.replace(blocks="plain", block_scale=0.31).to_dict(),
                          "naive modules (Figure 2a)": {"block_scale": 0.25}},
               "runs": [run("GoogLeNet", 0, 0.70, 0.6, 10.0), run("plain 3x3 stack", 0, 0.61, 0.5, 20.0),
                        run("GoogLeNet", 1, 0.74, 0.6, 12.0), run("plain 3x3 stack", 1, 0.62, 0.5, 22.0),
                        run("GoogLeNet", 2, 0.72, 0.6, 14.0)]}
    table = motivation_chapter.miniature_table(results).set_index("network")
    assert list(table.index) == ["GoogLeNet", "plain 3x3 stack"]  # the naive network has no run
    row = table.loc["GoogLeNet"]
    low, high = stats.t.interval(0.95, 2, loc=0.72, scale=0.02 / np.sqrt(3))
    assert (row["seeds"], row["test top-1"], row["seed sd"]) == pytest.approx((3, 0.72, 0.02))
    assert (row["low"], row["high"]) == pytest.approx((low, high))
    assert row["seeds for ±2 points"] == seeds_for_half_width(0.02, 0.02) and row["seconds per run"] == 12.0
    assert table.loc["plain 3x3 stack", "block scale"] == 0.31
    runs = motivation_chapter.miniature_runs(results)
    assert list(runs["test top-1"][:2]) == [0.70, 0.61] and list(runs["raw test top-1"][:2]) == [0.6, 0.5]
    shown, (plain,) = motivation_chapter.central_claim(results)  # no naive run: one finding, on every seed's Polyak top-1
    assert shown.equals(motivation_chapter.miniature_table(results))
    low, high = stats.ttest_ind([0.70, 0.74, 0.72], [0.61, 0.62]).confidence_interval()
    caveat = motivation_chapter.miniature_caveat({"runs": [
        {"group": "GoogLeNet", "curve": [[1, 1, 0.1, 0.2], [2, 2, 0.3, 0.4], [3, 3, 0.5, None], [4, 4, 0.6, 0.7]]},
        {"group": "GoogLeNet", "curve": [[1, 1, 0.1, 0.2], [2, 2, 0.3, 0.5], [3, 3, 0.5, 0.6], [4, 4, 0.6, 0.6]]}]})
    assert "GoogLeNet +20.0 points" in caveat and "had not converged" in caveat  # (0.7 - 0.4 + 0.6 - 0.5) / 2
    assert "plain 3x3 stack" in plain.quantity and (plain.difference.low, plain.difference.high) == pytest.approx(
        (low, high))
    assert plain.network == MINIATURE_CONFIG.describe()  # the finding names GoogLeNet as it was trained
    assert plain.caveat == ("validation top-1 still changed over the second half of the steps by GoogLeNet +42.0 "
                            "points; plain 3x3 stack +31.5 points")  # 0.72 - 0.3 and 0.615 - 0.3


def test_a_configuration_is_described_by_what_it_trains():
    from reproduce.training import BOOK_CONFIG, MINIATURE_CONFIG

    assert BOOK_CONFIG.describe() == ("GoogLeNet at 1/4 width, batch norm, AdamW (not the paper's, lr 0.002); whole "
                                      "images, flips; 64 px shapes; 1 epoch of 1,024 images")
    assert MINIATURE_CONFIG.describe() == ("GoogLeNet at 1/8 width, batch norm, AdamW (not the paper's, lr 0.002); "
                                           "Section 6's crops of 8%-100%, flips; 128 px scenes; 20 epochs of 4,800 "
                                           "images")
    paper = MINIATURE_CONFIG.replace(blocks="plain", block_scale=0.3125, batch_norm=False, optimizer="sgd", lr=0.05,
                                     aux_heads=False, photometric=True, train_images=None, width=1.0)
    assert paper.describe() == ("a plain 3x3 stack of GoogLeNet's depth at full width, its blocks' filters x0.312, "
                                "LRN (no batch norm, the paper's), no auxiliary heads, SGD with momentum (the "
                                "paper's, lr 0.05); Section 6's crops of 8%-100%, photometric distortions, flips; "
                                "128 px scenes; 20 epochs of the whole train split")
