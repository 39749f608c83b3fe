"""GoogLeNet as Table 1 of "Going Deeper with Convolutions" (Szegedy et al., 2014) lays it out.

``googlenet()`` with no arguments is the paper's network: the stem of Figure 3 with its two local response
normalizations, nine inception modules with real 5x5 convolutions, a ReLU after every convolution, 3x3/2 max pools
between stages, 7x7 average pooling, 40% dropout and a linear classifier, plus the two auxiliary heads of Section 5.
The options change that network; they do not copy it. ``googlenet_torchvision()`` is the preset whose state_dict is
torchvision's, key for key.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import torch
from torch import nn

from .blocks import (AUX_CONV_CHANNELS, AUX_DROPOUT, AUX_HIDDEN, AUX_POOL_CHOICES, BLOCK_CHOICES, BRANCH5X5_CHOICES,
                     AuxiliaryHead, ConvBlock, InceptionModule, LocalResponseNorm, stage_block)
from .init import init_weights

#: ``"imagenet"``: the stem of Figure 3 (conv 7x7/2, max pool 3x3/2, LRN, conv 1x1, conv 3x3, LRN, max pool 3x3/2),
#: which shrinks a 224 px image 8x before inception 3a. ``"small"``: for 32-96 px images; the first convolution is
#: 3x3/1 and both stem max pools are removed, so inception 3a sees the full input resolution (a 32 px image gives
#: 32x32 at 3a, 16x16 at 4a, where the auxiliary heads' 5x5/3 pooling gives exactly the paper's 4x4, and 8x8 at 5a).
STEM_CHOICES = ("imagenet", "small")
#: Table 1 and Section 5: 40% of the main classifier's inputs dropped in training (the auxiliary heads' 70% is
#: :data:`~reproduce.models.blocks.AUX_DROPOUT`).
DROPOUT = 0.4
#: The options of :class:`GoogLeNet` that a training configuration sets (``TrainConfig.model_options``) and a
#: checkpoint records, from which :func:`reproduce.checkpoints.load_trained` rebuilds the network.
MODEL_OPTIONS = ("stem", "width", "batch_norm", "aux_batch_norm", "branch5x5", "aux_heads", "dropout", "aux_dropout",
                 "init", "blocks", "block_scale")


class GoogLeNetOutputs(NamedTuple):
    """What a GoogLeNet with auxiliary heads returns in training mode."""

    logits: torch.Tensor
    aux1: torch.Tensor  # the head on inception 4a
    aux2: torch.Tensor  # the head on inception 4d


class GoogLeNet(nn.Module):
    def __init__(self, num_classes: int = 1000, *, aux_heads: bool = True, batch_norm: bool = False,
                 aux_batch_norm: bool = False, branch5x5: str = "5x5", width: float = 1.0, stem: str = "imagenet",
                 dropout: float = DROPOUT, aux_dropout: float = AUX_DROPOUT, aux_pool: str = "paper",
                 last_pool_kernel: int = 3, transform_input: bool = False, init: str = "kaiming",
                 blocks: str = "inception", block_scale: float = 1.0):
        super().__init__()
        if not (isinstance(num_classes, int) and num_classes >= 1):
            raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
        if branch5x5 not in BRANCH5X5_CHOICES:
            raise ValueError(f"branch5x5={branch5x5!r} is not one of {BRANCH5X5_CHOICES}")
        if blocks not in BLOCK_CHOICES:
            raise ValueError(f"blocks={blocks!r} is not one of {BLOCK_CHOICES}")
        if not block_scale > 0:
            raise ValueError(f"block_scale must be positive, got {block_scale!r}")
        if stem not in STEM_CHOICES:
            raise ValueError(f"stem={stem!r} is not one of {STEM_CHOICES}")
        if aux_pool not in AUX_POOL_CHOICES:
            raise ValueError(f"aux_pool={aux_pool!r} is not one of {AUX_POOL_CHOICES}")
        if not width > 0:
            raise ValueError(f"width must be positive, got {width!r}")
        self.transform_input = transform_input

        def w(channels: int) -> int:  # the width multiplier
            return max(1, round(channels * width))

        channels = w(192)

        def inception(*filters: int) -> nn.Module:  # the module of Figure 2b, or what ``blocks`` puts in its place
            nonlocal channels
            module = stage_block(blocks, channels, tuple(map(w, filters)), scale=block_scale, batch_norm=batch_norm,
                                 branch5x5=branch5x5)
            channels = module.out_channels
            return module

        # Figure 3's LocalResponseNorm (in float32 under autocast too); batch norm replaces it. The paper gives no
        # constants: size 5, alpha 1e-4 and beta 0.75 are BVLC Caffe's for its GoogLeNet.
        def lrn() -> nn.Module:
            return nn.Identity() if batch_norm else LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)

        def max_pool(kernel: int = 3) -> nn.Module:  # Caffe's pooling rounds up, as ceil_mode does
            return nn.MaxPool2d(kernel, stride=2, ceil_mode=True)

        small = stem == "small"
        bn = batch_norm
        # ---- Table 1, one row per line (the stem rows span a few modules) -------------  output at 224 px
        self.conv1 = ConvBlock(3, w(64), 3, 1, 1, bn) if small else ConvBlock(3, w(64), 7, 2, 3, bn)  # 112x112x64
        self.maxpool1 = nn.Identity() if small else max_pool()                    # max pool 3x3/2   56x56x64
        self.lrn1 = lrn()                                                         #   + LRN (Figure 3)
        self.conv2 = ConvBlock(w(64), w(64), 1, batch_norm=bn)                    # convolution 3x3/1: 1x1 reduce
        self.conv3 = ConvBlock(w(64), w(192), 3, 1, 1, bn)                        #   then 3x3       56x56x192
        self.lrn2 = lrn()                                                         #   + LRN (Figure 3)
        self.maxpool2 = nn.Identity() if small else max_pool()                    # max pool 3x3/2   28x28x192
        self.inception3a = inception(64, 96, 128, 16, 32, 32)                     # inception (3a)   28x28x256
        self.inception3b = inception(128, 128, 192, 32, 96, 64)                   # inception (3b)   28x28x480
        self.maxpool3 = max_pool()                                                # max pool 3x3/2   14x14x480
        self.inception4a = inception(192, 96, 208, 16, 48, 64)                    # inception (4a)   14x14x512
        self.inception4b = inception(160, 112, 224, 24, 64, 64)                   # inception (4b)   14x14x512
        self.inception4c = inception(128, 128, 256, 24, 64, 64)                   # inception (4c)   14x14x512
        self.inception4d = inception(112, 144, 288, 32, 64, 64)                   # inception (4d)   14x14x528
        self.inception4e = inception(256, 160, 320, 32, 128, 128)                 # inception (4e)   14x14x832
        self.maxpool4 = max_pool(last_pool_kernel)                                # max pool 3x3/2   7x7x832
        self.inception5a = inception(256, 160, 320, 32, 128, 128)                 # inception (5a)   7x7x832
        self.inception5b = inception(384, 192, 384, 48, 128, 128)                 # inception (5b)   7x7x1024
        self.avgpool = nn.AdaptiveAvgPool2d(1)                                    # avg pool 7x7/1   1x1x1024
        self.dropout = nn.Dropout(dropout)                                        # dropout (40%)    1x1x1024
        self.fc = nn.Linear(channels, num_classes)                                # linear           1x1x1000
        # softmax: applied by the loss in training and to the logits at test time.
        # ---- Section 5: auxiliary classifiers on 4a and 4d, used in training only ----
        # aux_batch_norm: Inception-v3's "BN-auxiliary", the whole head batch-normalized, its FC layer too
        aux = dict(conv_channels=w(AUX_CONV_CHANNELS), hidden=w(AUX_HIDDEN), dropout=aux_dropout,
                   batch_norm=bn or aux_batch_norm, fc_batch_norm=aux_batch_norm, pool=aux_pool)
        self.aux1 = AuxiliaryHead(self.inception4a.out_channels, num_classes, **aux) if aux_heads else None
        self.aux2 = AuxiliaryHead(self.inception4d.out_channels, num_classes, **aux) if aux_heads else None
        init_weights(self, init)

    def _transform_input(self, x: torch.Tensor) -> torch.Tensor:
        """torchvision's ``transform_input``: map ImageNet-normalized input to the [-1, 1] scaling of the ported
        weights."""
        mean = x.new_tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = x.new_tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        return x * (std / 0.5) + (mean - 0.5) / 0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor | GoogLeNetOutputs:
        if self.transform_input:
            x = self._transform_input(x)
        x = self.conv1(x)
        x = self.lrn1(self.maxpool1(x))
        x = self.lrn2(self.conv3(self.conv2(x)))
        x = self.maxpool2(x)
        x = self.inception3b(self.inception3a(x))
        x = self.inception4a(self.maxpool3(x))
        aux1: Optional[torch.Tensor] = self.aux1(x) if self.training and self.aux1 is not None else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2: Optional[torch.Tensor] = self.aux2(x) if self.training and self.aux2 is not None else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(self.avgpool(x).flatten(1)))
        if aux1 is not None and aux2 is not None:
            return GoogLeNetOutputs(x, aux1, aux2)
        return x

    def inception_modules(self) -> dict[str, InceptionModule]:
        return {name: m for name, m in self.named_children() if isinstance(m, InceptionModule)}


def googlenet(num_classes: int = 1000, **options) -> GoogLeNet:
    """The network of Table 1; with no arguments, exactly the paper's (6,998,552 parameters without the auxiliary
    heads, 13,378,280 with them, for 1000 classes). See :class:`GoogLeNet` for the options."""
    return GoogLeNet(num_classes, **options)


def googlenet_torchvision(num_classes: int = 1000, *, aux_heads: bool = True, transform_input: bool = False,
                          init: str = "torchvision") -> GoogLeNet:
    """The layout of ``torchvision.models.googlenet``, whose state_dict loads into it unchanged.

    It differs from the paper where torchvision does: batch norm after every convolution and no LRN, a 3x3 "5x5"
    branch, a 2x2/2 max pool before 5a, dropout 0.2, and auxiliary heads that pool adaptively to 4x4. Pass
    ``transform_input=True`` for the ported ImageNet weights, as torchvision does when it loads them.
    """
    return GoogLeNet(num_classes, aux_heads=aux_heads, batch_norm=True, branch5x5="3x3", dropout=0.2,
                     aux_pool="adaptive", last_pool_kernel=2, transform_input=transform_input, init=init)
