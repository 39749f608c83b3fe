"""Receptive fields of the paper's network (Section 4's argument, the Motivation chapter), computed and checked
against the support of a gradient."""

import pytest
import torch
from torch import nn

from reproduce import googlenet
from reproduce.models import InceptionModule
from reproduce.analysis.receptive import Field, branch_fields


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
    from reproduce.book.chapters.motivation import seen_whole

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
