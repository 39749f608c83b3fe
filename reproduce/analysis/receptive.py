"""Receptive fields of GoogLeNet's inception branches: how large a patch of the input image each branch sees.

Section 4 of the paper gives the multi-scale reason for the module's parallel 1x1, 3x3 and 5x5 branches: correlated
units are concentrated in small regions and also spread over larger ones, so one module should look at several patch
sizes at once. This module says which sizes those are, in input pixels, for a given network.

Written by hand (no library computes it): the theoretical receptive field of a chain of convolutions and poolings
grows by ``(kernel - 1) * jump`` at every layer, where ``jump`` is the product of the strides before it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from torch import nn

from ..models import GoogLeNet, InceptionModule

#: The trunk of GoogLeNet in forward order, up to the global average pooling.
TRUNK = ("conv1", "maxpool1", "conv2", "conv3", "maxpool2", "inception3a", "inception3b", "maxpool3", "inception4a",
         "inception4b", "inception4c", "inception4d", "inception4e", "maxpool4", "inception5a", "inception5b")
#: An inception module's branches, by the kernel that names them.
BRANCHES = {"branch1": "1x1", "branch2": "3x3", "branch3": "5x5", "branch4": "pool"}


@dataclass(frozen=True)
class Field:
    """The receptive field of a unit: ``size`` input pixels on a side, and ``jump``, the distance in input pixels
    between neighbouring units of its feature map."""

    size: int = 1
    jump: int = 1

    def through(self, module: nn.Module) -> "Field":
        """The field after ``module``: a convolution or pooling grows it, a module made of such layers in sequence
        grows it layer by layer, and anything else (activations, normalization) leaves it as it is."""
        if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            kernel, stride = _pair(module.kernel_size), _pair(module.stride)
            return Field(self.size + (kernel - 1) * self.jump, self.jump * stride)
        if isinstance(module, InceptionModule):
            raise TypeError("an inception module's branches differ: use branch_fields")
        field = self
        for child in module.children():
            field = field.through(child)
        return field


def _pair(value) -> int:
    value = value if isinstance(value, int) else value[0]
    return int(value)


def branch_fields(model: GoogLeNet) -> pd.DataFrame:
    """For every inception module, the receptive field of each branch's output units (rows: modules, columns: 1x1,
    3x3, 5x5, pool), and the jump of the module's feature map. The module's output field, which the next layer
    starts from, is the largest of its branches'."""
    field, rows = Field(), {}
    for name in TRUNK:
        module = model.get_submodule(name)
        if isinstance(module, InceptionModule):
            sizes = {label: field.through(getattr(module, branch)).size for branch, label in BRANCHES.items()}
            rows[name.removeprefix("inception")] = {**sizes, "jump": field.jump}
            field = Field(max(sizes.values()), field.jump)
        else:
            field = field.through(module)
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("module")

