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


def test_a_photographs_144_crops_are_drawn_from_the_papers_cutter_and_values_are_glued_by_name(monkeypatch):
    import myst_nb
    import numpy as np

    from reproduce import figures
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
