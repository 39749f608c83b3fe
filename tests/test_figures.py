"""The book's figures draw exactly the numbers they are given."""

import pytest
import torch

from reproduce import costs, googlenet
from reproduce.receptive import branch_fields


def test_the_figures_draw_what_they_are_given():
    from matplotlib.patches import Rectangle

    from reproduce import figures

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
