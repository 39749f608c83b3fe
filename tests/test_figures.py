"""The book's figures draw exactly the numbers they are given."""

import pytest
import torch

from reproduce.analysis import costs
from reproduce import googlenet
from reproduce.analysis.receptive import branch_fields


def test_the_figures_draw_what_they_are_given():
    from matplotlib.patches import Rectangle

    from reproduce.book import figures

    stages = costs.ops_by_stage(googlenet(), 224)
    fig = figures.budget_by_stage(stages, 1.5e9)
    assert len(fig.axes[0].patches) == len(stages)
    assert fig.axes[0].patches[-1].get_x() + fig.axes[0].patches[-1].get_width() == pytest.approx(float(stages.sum()))
    widened = costs.widening((0.5, 1.0), input_size=64)
    lines = figures.widening(widened).axes[0].lines
    assert list(lines[0].get_ydata()) == pytest.approx(list(widened["ops vs width 1"]))
    savings = costs.bottleneck_savings(googlenet(), 224)
    axes = figures.bottleneck_savings(savings).axes
    assert [ax.get_title() for ax in axes] == ["3x3 branches", "5x5 branches"]
    assert all(len([p for p in ax.patches if p.get_height() > 0]) == 2 * 9 for ax in axes)
    fields = branch_fields(googlenet())
    fig = figures.receptive_fields({"paper": fields}, {"paper": (10.0, 20.0)})
    assert [list(line.get_ydata()) for line in fig.axes[0].lines] == [list(fields[b]) for b in ("1x1", "3x3", "5x5",
                                                                                                 "pool")]
    image = torch.zeros(3, 32, 32)
    image[:, 4:10, 20:28] = 1.0  # an object centred at x = 23.5, y = 6.5
    fig = figures.fields_on_images([image], {"a": 5, "b": 9})
    squares = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
    assert [(s.get_width(), s.get_x() + s.get_width() / 2, s.get_y() + s.get_height() / 2) for s in squares] == [
        (5, 23.5, 6.5), (9, 23.5, 6.5)]


def test_a_photographs_144_crops_are_drawn_from_the_papers_cutter_and_values_are_glued_by_name(monkeypatch):
    import myst_nb
    import numpy as np

    from reproduce.book import figures
    from reproduce.evaluate import paper_crops_144

    photo = (np.arange(300 * 400 * 3) % 251).astype(np.uint8).reshape(300, 400, 3)
    fig = figures.photo_crops_144(photo)
    shown = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    crops = paper_crops_144(torch.from_numpy(photo).permute(2, 0, 1).float() / 255, 224)
    assert len(shown) == 144
    assert np.allclose(shown[0], crops[0].permute(1, 2, 0).numpy(), atol=1e-6)
    glued = []
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: glued.append((name, value, display)))
    figures.glue_values({"a": "1", "b": "two"})
    assert glued == [("a", "1", False), ("b", "two", False)]


def test_the_forest_plot_shows_every_interval_whole_and_marks_one_stopped_at_the_bound():
    import matplotlib.pyplot as plt
    from matplotlib.text import Annotation

    from reproduce.book import figures
    from reproduce.analysis.findings import Finding, Interval

    def finding(estimate, low, high):
        return Finding("claim", f"d = {estimate}", Interval(estimate, low, high, 3, "seeds"), 1, "paired")

    found = [finding(0.543, -0.218, 1.0), finding(0.02, 0.005, 0.035), finding(-0.6, -1.0, -0.3)]
    fig = figures.findings(found)
    ax = fig.axes[0]
    drawn = [end for c in ax.containers for end in c.lines[2][0].get_segments()[0][:, 0]]
    assert drawn == pytest.approx([-21.8, 100.0, 0.5, 3.5, -100.0, -30.0])
    arrows = [a for a in ax.texts if isinstance(a, Annotation) and a.arrow_patch is not None]
    starts_and_tips = sorted((a.xyann[0], a.xy[0]) for a in arrows)
    assert [start for start, _ in starts_and_tips] == [-100.0, 100.0]  # the two stopped ends, and only those
    assert starts_and_tips[0][1] < -100.0 and starts_and_tips[1][1] > 100.0  # each points past its bound
    assert sorted(t.get_text() for t in ax.texts if t.arrow_patch is None) == ["stopped at +100", "stopped at -100"]
    low, high = ax.get_xlim()
    assert low < starts_and_tips[0][1] and high > starts_and_tips[1][1]  # every interval and arrow on the axis
    plt.close(fig)
    fig = figures.findings([finding(0.02, 0.005, 0.035)])
    assert not [a for a in fig.axes[0].texts if a.arrow_patch is not None]
    low, high = fig.axes[0].get_xlim()
    assert low < 0 < 0.5 < 3.5 < high  # the zero line and the whole interval
    plt.close(fig)


def test_the_convergence_figure_draws_the_measured_runs_one_line_per_configuration():
    import json
    from collections import defaultdict
    from pathlib import Path

    import matplotlib.pyplot as plt
    import numpy as np

    from reproduce.book import figures
    from reproduce.book.chapters import training as training_chapter

    measured = json.loads((Path(__file__).parent.parent / "benchmarks" / "results" / "convergence.json").read_text())
    fig = figures.convergence(training_chapter.convergence_runs(measured), steps=450)
    # from the file itself: each group's length in steps and its seeds' Polyak top-1
    groups = defaultdict(list)
    for run in measured["runs"]:
        options = run["options"]
        groups[run["group"], options["epochs"] * measured["train_images"] // options["batch_size"]].append(
            run["polyak_val_top1"])
    means = sorted((steps, np.mean(values)) for (_, steps), values in groups.items())
    seeds = sorted((steps, value) for (_, steps), values in groups.items() for value in values)
    lines = [line for ax in fig.axes for line in ax.lines if not line.get_label().startswith("this build")]
    drawn = sorted(p for line in lines for p in zip(line.get_xdata(), line.get_ydata()))
    assert np.allclose(drawn, means, rtol=0, atol=1e-12)
    points = sorted(tuple(p) for ax in fig.axes for c in ax.collections for p in c.get_offsets())
    assert np.allclose(points, seeds, rtol=0, atol=1e-12)
    assert all(list(line.get_xdata()) == sorted(line.get_xdata()) for line in lines)  # each line runs left to right
    # the book's configuration (the file's "book", changed in its length only) is one line through its four lengths
    book = {k: v for k, v in measured["book"].items() if k != "epochs"}
    lengths = defaultdict(list)
    for run in measured["runs"]:
        if {k: v for k, v in run["options"].items() if k != "epochs"} == book:
            lengths[run["options"]["epochs"] * measured["train_images"] // book["batch_size"]].append(
                run["polyak_val_top1"])
    name = f"{'SGD' if book['optimizer'] == 'sgd' else 'AdamW'} lr {book['lr']:g}"  # "AdamW lr 0.002"
    line = next(line for line in lines if line.get_label() == name)
    assert len(lengths) >= 2 and list(line.get_xdata()) == sorted(lengths)  # 300, 450, 600 and 1,200 steps
    assert list(line.get_ydata()) == pytest.approx([np.mean(lengths[k]) for k in sorted(lengths)])
    assert [ax.get_title() for ax in fig.axes] == list(training_chapter.CONVERGENCE_FAMILIES)
    configurations = {tuple(sorted((k, v) for k, v in run["options"].items() if k != "epochs"))
                      for run in measured["runs"]}  # what a run changes but its length
    assert len(lines) == len(configurations)  # one line each
    assert [line.get_xdata()[0] for ax in fig.axes for line in ax.lines if line.get_label().startswith("this build")
            ] == [450] * 3
    plt.close(fig)
    empty = figures.convergence(None)
    assert "python benchmarks/convergence.py" in empty.axes[0].texts[0].get_text()
    plt.close(empty)


def test_the_miniature_curves_draw_every_runs_validation_accuracy_against_its_steps():
    from reproduce.book import figures

    results = {"groups": {"GoogLeNet": {}, "plain 3x3 stack": {}},
               "runs": [{"group": "plain 3x3 stack", "seed": 0, "curve": [[1, 150, 0.1, 0.12], [2, 300, 0.2, 0.25]]},
                        {"group": "GoogLeNet", "seed": 0, "curve": [[1, 150, 0.3, 0.35], [2, 300, 0.6, None]]},
                        {"group": "GoogLeNet", "seed": 1, "curve": [[1, 150, 0.4, 0.45], [2, 300, 0.7, 0.72]]}]}
    fig = figures.miniature_curves(results)
    lines = [line for line in fig.axes[0].get_lines() if line.get_linestyle() != ":"]
    drawn = [(list(line.get_xdata()), list(line.get_ydata())) for line in lines]
    # GoogLeNet's seeds first; the Polyak weights' accuracy, the raw one where a run has no average
    assert drawn == [([150, 300], [35.0, 60.0]), ([150, 300], [45.0, 72.0]), ([150, 300], [12.0, 25.0])]
    assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["GoogLeNet", "plain 3x3 stack",
                                                                           "chance (20 classes)"]
