"""The arithmetic of Sections 1-3: widening, 1x1 reductions, the budget by stage, and receptive fields."""

import pytest
import torch
from torch import nn

from reproduce import costs, googlenet
from reproduce.models import InceptionModule
from reproduce.receptive import Field, branch_fields


def test_widening_counts_the_network_at_each_width_and_grows_nearly_quadratically():
    table = costs.widening((0.5, 1.0, 2.0), input_size=64)
    assert table.loc[1.0, "ops"] == costs.summary(googlenet(), 64)["ops"]
    assert table.loc[2.0, "params"] == costs.summary(googlenet(width=2.0), 64)["params"]
    assert table.loc[1.0, "ops vs width 1"] == 1.0
    growth = table["ops growth exponent"].dropna()
    assert len(growth) == 2 and ((growth > 1.8) & (growth < 2.0)).all()  # the stem's 3 inputs keep it below 2


def test_bottleneck_savings_match_the_formula_for_3a():
    table = costs.bottleneck_savings(googlenet(), 224)
    assert len(table) == 2 * 9
    row = table[(table["module"] == "3a") & (table["branch"] == "5x5")].iloc[0]
    hw, c, r, out = 28 * 28, 192, 16, 32
    assert (row["input channels"], row["reduced to"], row["output channels"]) == (c, r, out)
    assert row["ops without reduction"] == hw * 25 * c * out
    assert row["ops with reduction"] == hw * (c * r + 25 * r * out)
    assert row["saving (x)"] == pytest.approx((25 * c * out) / (c * r + 25 * r * out))


def test_ops_by_stage_add_up_to_the_network():
    stages = costs.ops_by_stage(googlenet(), 224)
    assert list(stages.index) == ["stem", "inception 3", "inception 4", "inception 5", "classifier"]
    assert stages.sum() == costs.summary(googlenet(), 224)["ops"]
    assert stages["classifier"] == 1024 * 1000


def test_receptive_fields_of_the_paper_network():
    # conv 7x7/2 -> 7; pool 3x3/2 -> 11; conv 1x1, conv 3x3 -> 19; pool 3x3/2 -> 27, with jump 8 at inception (3a).
    fields = branch_fields(googlenet())
    assert fields.loc["3a"].to_dict() == {"1x1": 27, "3x3": 27 + 2 * 8, "5x5": 27 + 4 * 8, "pool": 27 + 2 * 8,
                                          "jump": 8}
    assert list(fields.index) == ["3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b"]
    assert list(fields["jump"]) == [8, 8, 16, 16, 16, 16, 16, 32, 32]
    assert (fields["5x5"] > fields["3x3"]).all() and (fields["3x3"] > fields["1x1"]).all()
    # the factorized 5x5 (two 3x3) sees the same patch as the 5x5 it replaces, and width changes no field (the
    # Motivation chapter draws the book's narrow network's fields as the paper's)
    assert branch_fields(googlenet(branch5x5="2x3x3")).equals(fields)
    assert branch_fields(googlenet(width=0.25)).equals(fields)


def test_the_objects_each_branch_sees_whole_are_named():
    from reproduce.report import seen_whole

    fields = branch_fields(googlenet()).loc["3a", ["1x1", "3x3", "5x5"]]  # 27, 43, 59 px
    text = seen_whole(fields, {"small": 10.0, "medium": 30.0, "large": 70.0})
    assert text.startswith("The small object (10 px) fits whole in the field of the 1x1, 3x3 and 5x5 branches. "
                           "The medium object (30 px) fits whole in the field of the 3x3 and 5x5 branches. "
                           "The large object (70 px) fits whole in the field of no branch of 3a.")
    assert seen_whole(fields, {"mid": 50.0}).startswith("The mid object (50 px) fits whole in the field of the 5x5 branch.")


def test_receptive_field_equals_the_support_of_the_gradient():
    """The analytic field of a small chain equals the input pixels that one output unit depends on (average pooling:
    max pooling passes the gradient to one input of each window only)."""
    torch.manual_seed(0)
    chain = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2), nn.AvgPool2d(3, stride=1), nn.Conv2d(2, 1, 5, stride=1))
    for conv in (chain[0], chain[2]):
        nn.init.uniform_(conv.weight, 0.5, 1.0)  # positive weights: no gradient cancels
    field = Field().through(chain)
    x = torch.rand(1, 1, 64, 64, requires_grad=True)
    y = chain(x)
    y[0, 0, y.shape[-2] // 2, y.shape[-1] // 2].backward()
    rows, columns = x.grad[0, 0].nonzero(as_tuple=True)
    assert field == Field(size=1 + 2 * 1 + 2 * 2 + 4 * 2, jump=2)
    assert rows.max() - rows.min() + 1 == field.size and columns.max() - columns.min() + 1 == field.size


def test_an_inception_module_has_no_single_field():
    module = InceptionModule(8, 4, 4, 4, 4, 4, 4)
    with pytest.raises(TypeError, match="branch_fields"):
        Field().through(module)


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


def test_the_bottleneck_numbers_are_those_of_the_savings_table():
    from reproduce import report

    savings = costs.bottleneck_savings(googlenet(), 224)
    values = report.bottleneck_values(savings, 1_000_000_000)
    # inception (3a)'s 5x5 branch: 192 channels reduced to 16, then 32 5x5 filters
    assert (values["ex_in"], values["ex_red"], values["ex_out"]) == ("192", "16", "32")
    without = 28 * 28 * 5 * 5 * 192 * 32
    with_reduction = 28 * 28 * (192 * 16 + 5 * 5 * 16 * 32)
    assert values["ex_saving"] == f"{without / with_reduction:.1f}"
