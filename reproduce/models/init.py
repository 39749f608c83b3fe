"""Weight initialization.

The paper does not say how GoogLeNet was initialized. Three schemes are available:

``"kaiming"`` (the default): He et al. (2015) normal initialization, ``std = sqrt(2 / fan_in)``, for every convolution
and every hidden fully connected layer, zero biases; the classifiers get ``N(0, 0.01^2)`` so the first loss is close to
``ln(classes)``. The factor 2 compensates for the ReLU zeroing half of each layer's input, so the scale of the signal
neither grows nor shrinks across the 22 layers of the paper network, which has no batch norm to rescale it. This is
why it trains from scratch without batch norm.

``"caffe"``: what the Caffe reference model (bvlc_googlenet) used: Caffe's "xavier" filler,
``U(-sqrt(3 / fan_in), sqrt(3 / fan_in))`` (variance ``1 / fan_in``, half of what a ReLU layer needs), with bias 0.2
on the hidden layers and 0 on the classifiers. The positive bias keeps units active while the signal's
input-dependent part shrinks by about sqrt(2) per layer.

``"torchvision"``: torchvision's ``trunc_normal_(std=0.01)`` for every weight. Without batch norm the signal vanishes
within a few layers (its maintainers reported the model hard to train from scratch); with batch norm it is harmless.

Batch norm layers always start at weight 1, bias 0.
"""

from __future__ import annotations

import math

import torch
from torch import nn

INIT_CHOICES = ("kaiming", "caffe", "torchvision")


def _classifiers(model: nn.Module) -> set[nn.Module]:
    """The linear layers that produce logits (``fc`` of the model and ``fc2`` of each auxiliary head)."""
    return {m for name, m in model.named_modules()
            if isinstance(m, nn.Linear) and name.split(".")[-1] in ("fc", "fc2")}


@torch.no_grad()
def init_weights(model: nn.Module, scheme: str = "kaiming") -> nn.Module:
    if scheme not in INIT_CHOICES:
        raise ValueError(f"init={scheme!r} is not one of {INIT_CHOICES}")
    classifiers = _classifiers(model)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        if not isinstance(m, (nn.Conv2d, nn.Linear)):
            continue
        if scheme == "torchvision":
            nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
            bias = 0.0
        elif m in classifiers:
            nn.init.normal_(m.weight, std=0.01) if scheme == "kaiming" else _caffe_xavier(m.weight)
            bias = 0.0
        elif scheme == "kaiming":
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            bias = 0.0
        else:
            _caffe_xavier(m.weight)
            bias = 0.2
        if m.bias is not None:
            nn.init.constant_(m.bias, bias)
    return model


def _caffe_xavier(weight: torch.Tensor) -> None:
    """Caffe's XavierFiller with its default FAN_IN variance norm (not Glorot's fan_in + fan_out)."""
    fan_in = weight[0].numel()
    bound = math.sqrt(3.0 / fan_in)
    nn.init.uniform_(weight, -bound, bound)


@torch.no_grad()
def activation_scales(model: nn.Module, x: torch.Tensor) -> dict[str, float]:
    """Standard deviation of each top-level layer's output for the input ``x`` (eval mode), in forward order: how
    the scale of the signal evolves with depth at initialization."""
    scales: dict[str, float] = {}

    def record(name: str):
        def hook(module, inputs, output):
            scales.setdefault(name, output.float().std().item())
        return hook

    hooks = [module.register_forward_hook(record(name)) for name, module in model.named_children()
             if not isinstance(module, (nn.Identity, nn.Dropout)) and not name.startswith("aux")]
    was_training = model.training
    try:
        model.eval()(x)
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return scales
