"""The building blocks of GoogLeNet (Szegedy et al., 2014, Sections 4-5).

Every convolution is followed by a ReLU, as the paper states. With ``batch_norm=True`` a BatchNorm2d sits between the
convolution and its ReLU and the convolution loses its bias (the Inception-v2 recipe, and torchvision's layout).
Attribute names follow torchvision's ``models/googlenet.py`` so that its state_dicts load unchanged.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

#: How the "5x5" branch of an inception module is built.
#: ``"5x5"``: the paper's single 5x5 convolution (Figure 2b).
#: ``"2x3x3"``: two stacked 3x3 convolutions, the Inception-v2 factorization (Szegedy et al., 2015, Section 3.1); the
#: first 3x3 already has the branch's output width, as in BN-Inception and torchvision's Inception-v3.
#: ``"3x3"``: one 3x3 convolution, torchvision's known deviation (pytorch/vision#906), kept so its weights load.
BRANCH5X5_CHOICES = ("5x5", "2x3x3", "3x3")


class LocalResponseNorm(nn.LocalResponseNorm):
    """Figure 3's local response normalization, computed in float32 whatever the input's dtype and autocast: in
    bf16, ``k + alpha * mean(x^2)`` rounds to exactly ``k`` wherever ``alpha * mean(x^2)`` is below bf16's
    resolution at ``k`` (1/128 at 1), so a bf16 network would silently normalize less than the float32 one. The
    output has the input's dtype."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.amp.is_autocast_available(x.device.type):  # the meta device, where costs are counted
            return super().forward(x.float()).to(x.dtype)
        with torch.autocast(x.device.type, enabled=False):
            return super().forward(x.float()).to(x.dtype)


def all_reduce(tensor: torch.Tensor) -> torch.Tensor:
    """The sum of ``tensor`` over the processes, differentiable (torch.distributed.nn's, whose deprecation warning
    names a replacement without autograd on the CPU)."""
    import warnings

    from torch.distributed.nn.functional import all_reduce as summed

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return summed(tensor)


class _GlobalBatchStatistics:
    """Batch norm over the global batch when several processes train one model (DistributedDataParallel): the mean
    and variance each process normalizes with, and the running statistics it keeps, are those of every process's
    images together, so that N processes with batch B/N compute what one process with batch B does (torch's
    ``SyncBatchNorm`` does this on GPUs only; this one runs on any device, so the CPU tests check the path a GPU run
    takes). Two differentiable all-reduces per layer and step, of each channel's count and sum, then of its squares
    about the global mean (one of the sum of squares would lose the variance of a nearly constant channel to float32
    cancellation); their backward sums the statistics' gradients over the processes, as the global batch's loss
    needs. Alone, in eval
    mode, or outside a process group it is torch's batch norm, bit for bit."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        dims, channels = [0, *range(2, x.dim())], x.size(1)
        shape = [1, channels] + [1] * (x.dim() - 2)
        x32 = x.float()
        totals = all_reduce(torch.cat([x32.new_full((1,), x32.numel() / channels), x32.sum(dims)]))
        n, mean = totals[0], totals[1:] / totals[0]
        centred = x32 - mean.view(shape)  # the squares about the global mean: E[x^2] - E[x]^2 cancels in float32
        variance = all_reduce((centred * centred).sum(dims)) / n
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                self.running_mean.lerp_(mean.detach().to(self.running_mean.dtype), momentum)
                self.running_var.lerp_((variance.detach() * n / (n - 1)).to(self.running_var.dtype), momentum)
        out = centred * torch.rsqrt(variance.view(shape) + self.eps)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out.to(x.dtype)


class BatchNorm2d(_GlobalBatchStatistics, nn.BatchNorm2d):
    """``nn.BatchNorm2d`` over the global batch of several processes (:class:`_GlobalBatchStatistics`)."""


class BatchNorm1d(_GlobalBatchStatistics, nn.BatchNorm1d):
    """``nn.BatchNorm1d`` over the global batch of several processes (:class:`_GlobalBatchStatistics`)."""


class ConvBlock(nn.Module):
    """Convolution -> (BatchNorm) -> ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 batch_norm: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                              bias=not batch_norm)
        # torchvision's BasicConv2d uses eps=0.001 (the TF-slim value); we keep it so ported weights agree.
        self.bn = BatchNorm2d(out_channels, eps=0.001) if batch_norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x, inplace=True)


def _large_branch(reduce: int, out: int, branch5x5: str, batch_norm: bool) -> list[nn.Module]:
    if branch5x5 == "5x5":
        return [ConvBlock(reduce, out, 5, padding=2, batch_norm=batch_norm)]
    if branch5x5 == "2x3x3":
        return [ConvBlock(reduce, out, 3, padding=1, batch_norm=batch_norm),
                ConvBlock(out, out, 3, padding=1, batch_norm=batch_norm)]
    if branch5x5 == "3x3":
        return [ConvBlock(reduce, out, 3, padding=1, batch_norm=batch_norm)]
    raise ValueError(f"branch5x5={branch5x5!r} is not one of {BRANCH5X5_CHOICES}")


class InceptionModule(nn.Module):
    """The inception module with dimension reductions (Figure 2b).

    The arguments are the filter-count columns of Table 1, in the table's order. Four parallel branches see the same
    input and their outputs are concatenated along the channels:
    ``branch1`` 1x1; ``branch2`` 1x1 reduce -> 3x3; ``branch3`` 1x1 reduce -> 5x5; ``branch4`` 3x3/1 max pool -> 1x1
    projection.
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int,
                 pool_proj: int, *, batch_norm: bool = False, branch5x5: str = "5x5"):
        super().__init__()
        self.in_channels = in_channels
        self.filters = {"#1x1": ch1x1, "#3x3 reduce": ch3x3red, "#3x3": ch3x3,
                        "#5x5 reduce": ch5x5red, "#5x5": ch5x5, "pool proj": pool_proj}
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj
        self.branch1 = ConvBlock(in_channels, ch1x1, 1, batch_norm=batch_norm)
        self.branch2 = nn.Sequential(ConvBlock(in_channels, ch3x3red, 1, batch_norm=batch_norm),
                                     ConvBlock(ch3x3red, ch3x3, 3, padding=1, batch_norm=batch_norm))
        self.branch3 = nn.Sequential(ConvBlock(in_channels, ch5x5red, 1, batch_norm=batch_norm),
                                     *_large_branch(ch5x5red, ch5x5, branch5x5, batch_norm))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     ConvBlock(in_channels, pool_proj, 1, batch_norm=batch_norm))

    def branches(self) -> list[nn.Module]:
        return [self.branch1, self.branch2, self.branch3, self.branch4]

    @property
    def depth(self) -> int:
        """Layers with parameters on the longest path through the module (Table 1's depth column)."""
        return max(sum(isinstance(m, nn.Conv2d) for m in branch.modules()) for branch in self.branches())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches()], dim=1)


class NaiveInceptionModule(nn.Module):
    """The naive inception module of Figure 2a: 1x1, 3x3 and 5x5 convolutions and a 3x3 max pool, side by side.

    There are no 1x1 reductions, so the 3x3 and 5x5 convolutions run on all input channels, and the pooling branch
    passes every input channel through: the output is wider than the input (``in_channels + ch1x1 + ch3x3 + ch5x5``).
    Section 4's cost comparison uses it alone; ``GoogLeNet(blocks="naive")`` stacks it in place of every module.
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3: int, ch5x5: int, *, batch_norm: bool = False):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = in_channels + ch1x1 + ch3x3 + ch5x5
        self.branch1 = ConvBlock(in_channels, ch1x1, 1, batch_norm=batch_norm)
        self.branch2 = ConvBlock(in_channels, ch3x3, 3, padding=1, batch_norm=batch_norm)
        self.branch3 = ConvBlock(in_channels, ch5x5, 5, padding=2, batch_norm=batch_norm)
        self.branch4 = nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)


class PlainBlock(nn.Sequential):
    """Two 3x3 convolutions, one after the other: the block without Inception's parallel branches that
    ``GoogLeNet(blocks="plain")`` puts in place of every module, as deep as the module's longest path (Table 1's depth
    of 2), so that the plain network has GoogLeNet's 22 layers with parameters."""

    def __init__(self, in_channels: int, out_channels: int, *, batch_norm: bool = False):
        super().__init__(ConvBlock(in_channels, out_channels, 3, padding=1, batch_norm=batch_norm),
                         ConvBlock(out_channels, out_channels, 3, padding=1, batch_norm=batch_norm))
        self.in_channels, self.out_channels = in_channels, out_channels


#: What stands in each of Table 1's nine inception rows. ``"inception"``: the module with dimension reductions
#: (Figure 2b), the paper's. ``"naive"``: the naive module of Figure 2a with the row's #1x1, #3x3 and #5x5 filters
#: times ``block_scale`` (no reductions, the pooled input passed through). ``"plain"``: :class:`PlainBlock` with the
#: row's output channels times ``block_scale``. ``block_scale`` is chosen by
#: :func:`reproduce.analysis.costs.equal_cost_scale` so that the network costs GoogLeNet's multiply-adds.
BLOCK_CHOICES = ("inception", "naive", "plain")


def stage_block(blocks: str, in_channels: int, filters: tuple[int, ...], *, scale: float = 1.0,
                batch_norm: bool = False, branch5x5: str = "5x5") -> nn.Module:
    """The block of kind ``blocks`` for one of Table 1's inception rows (``filters``: the row's six filter counts,
    already scaled by the network's width) on ``in_channels`` input channels."""
    def scaled(channels: int) -> int:
        return max(1, round(channels * scale))

    ch1x1, _, ch3x3, _, ch5x5, pool_proj = filters
    if blocks == "inception":
        return InceptionModule(in_channels, *filters, batch_norm=batch_norm, branch5x5=branch5x5)
    if blocks == "naive":
        return NaiveInceptionModule(in_channels, scaled(ch1x1), scaled(ch3x3), scaled(ch5x5), batch_norm=batch_norm)
    if blocks == "plain":
        return PlainBlock(in_channels, scaled(ch1x1 + ch3x3 + ch5x5 + pool_proj), batch_norm=batch_norm)
    raise ValueError(f"blocks={blocks!r} is not one of {BLOCK_CHOICES}")


#: How an auxiliary head pools its input. ``"paper"``: average pool 5x5 stride 3 (Section 5), which turns the 14x14
#: maps of a 224 px input into 4x4; on other map sizes the pooled map is then brought to 4x4 by adaptive average
#: pooling (a no-op at 224 px), and maps smaller than 5x5 are pooled adaptively only. ``"adaptive"``: adaptive
#: average pooling to 4x4 always (torchvision).
AUX_POOL_CHOICES = ("paper", "adaptive")
#: Section 5's auxiliary classifier: a 1x1 convolution with 128 filters, a fully connected layer of 1024 units and
#: 70% dropout (at width 1; :class:`~reproduce.models.googlenet.GoogLeNet` scales the two layers with its width).
AUX_CONV_CHANNELS = 128
AUX_HIDDEN = 1024
AUX_DROPOUT = 0.7


class AuxiliaryHead(nn.Module):
    """The auxiliary classifier of Section 5, attached to inception 4a and 4d during training.

    average pool 5x5/3 -> 1x1 conv (128) + ReLU -> FC (1024) + ReLU -> dropout (70%) -> linear (classes).

    ``batch_norm``: a BatchNorm2d between the 1x1 convolution and its ReLU (as everywhere in a batch-normalized
    network). ``fc_batch_norm``: also a BatchNorm1d between the hidden fully connected layer and its ReLU (``fc1``
    then has no bias; ``fc1_bn`` holds the normalization), Inception-v3's "BN-auxiliary" (Szegedy et al., 2015,
    Section 4 and Table 3). Off by default, which leaves the head, its state_dict and torchvision's layout unchanged.
    """

    def __init__(self, in_channels: int, num_classes: int, *, conv_channels: int = AUX_CONV_CHANNELS,
                 hidden: int = AUX_HIDDEN, dropout: float = AUX_DROPOUT, batch_norm: bool = False,
                 fc_batch_norm: bool = False, pool: str = "paper"):
        super().__init__()
        if pool not in AUX_POOL_CHOICES:
            raise ValueError(f"aux_pool={pool!r} is not one of {AUX_POOL_CHOICES}")
        self.pool = pool
        self.conv = ConvBlock(in_channels, conv_channels, 1, batch_norm=batch_norm)
        self.fc1 = nn.Linear(conv_channels * 4 * 4, hidden, bias=not fc_batch_norm)
        # eps=0.001 as in ConvBlock (the TF-slim value)
        self.fc1_bn = BatchNorm1d(hidden, eps=0.001) if fc_batch_norm else None
        self.fc2 = nn.Linear(hidden, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool == "paper" and min(x.shape[-2:]) >= 5:
            x = F.avg_pool2d(x, kernel_size=5, stride=3)
        if x.shape[-2:] != (4, 4):
            x = F.adaptive_avg_pool2d(x, 4)
        x = self.fc1(self.conv(x).flatten(1))
        if self.fc1_bn is not None:
            x = self.fc1_bn(x)
        x = F.relu(x, inplace=True)
        return self.fc2(self.dropout(x))
