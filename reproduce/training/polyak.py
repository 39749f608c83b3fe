"""Polyak averaging as an exponential moving average of the weights, without a host-device round trip per step.

The paper evaluates "Polyak averaging [13]" of the weights. Polyak and Juditsky's averaging is the uniform mean of
the iterates; this is an adaptation of it that the paper does not specify, an exponential moving average (EMA) with a
time constant of ``polyak_epochs`` epochs, so that the average forgets the early weights: after the first update, which copies the model, every update moves each
averaged tensor towards the model's, ``average += (1 - decay) * (model - average)``.

``torch.optim.swa_utils.AveragedModel`` with ``get_ema_multi_avg_fn`` computes that, but every
``update_parameters`` call also reads its ``n_averaged`` counter and copies it to the device of the weights
(``n_averaged.to(device)``, a blocking copy from pageable host memory), which stalls the host until the GPU has
finished all the work queued before it, once per training step. :class:`PolyakAverage` is the same module (a subclass,
with the same ``module.`` weights and ``n_averaged`` buffer in its ``state_dict``, so checkpoints written with either
load into the other) whose update counts on the host and applies the average with ``torch._foreach_copy_`` /
``torch._foreach_lerp_``, the same kernels as the stock EMA, so it gives the same weights bit for bit (tested).

:func:`time_updates` measures both on a device.
"""

from __future__ import annotations

import copy
import time
from typing import Callable, NamedTuple, Optional

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn


def stock_average(model: nn.Module, decay: float) -> AveragedModel:
    """torch's own EMA of ``model``'s parameters and buffers: what :class:`PolyakAverage` replaces."""
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


class PolyakAverage(AveragedModel):
    """An exponential moving average of ``model``'s parameters and buffers (``average.module``), updated by
    :meth:`update_parameters` after each optimizer step: the first update copies the model, each later one computes
    ``decay * average + (1 - decay) * model``. Equal to :func:`stock_average` tensor for tensor, with no blocking
    host-device copy and no read of a device tensor per update: the count of updates is kept on the host
    (``updates``, read back from ``n_averaged`` when a ``state_dict`` is loaded)."""

    def __init__(self, model: nn.Module, decay: float):
        if not 0 <= decay <= 1:
            raise ValueError(f"decay must be in [0, 1], got {decay!r}")
        super().__init__(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
        self.decay = decay
        self.updates = 0
        self.register_load_state_dict_post_hook(PolyakAverage._count_loaded)

    @staticmethod
    def _count_loaded(module: "PolyakAverage", incompatible_keys) -> None:
        module.updates = int(module.n_averaged)  # once per load, not per step

    @torch.no_grad()
    def update_parameters(self, model: nn.Module) -> None:
        averaged = [*self.module.parameters(), *self.module.buffers()]
        current = [*model.parameters(), *model.buffers()]
        if len(averaged) != len(current):
            raise ValueError(f"the model has {len(current)} parameters and buffers, the average {len(averaged)}: "
                             f"it averages another architecture")
        groups: dict[tuple[torch.device, torch.dtype], tuple[list, list]] = {}
        for mine, theirs in zip(averaged, current):
            into, source = groups.setdefault((mine.device, mine.dtype), ([], []))
            into.append(mine.detach())
            source.append(theirs.detach().to(mine.device))
        for (_, dtype), (into, source) in groups.items():
            if self.updates == 0:
                torch._foreach_copy_(into, source)
            elif dtype.is_floating_point or dtype.is_complex:
                torch._foreach_lerp_(into, source, 1 - self.decay)
            else:  # integer buffers (batch norm's num_batches_tracked), as get_ema_multi_avg_fn rounds them
                mixed = torch._foreach_mul(into, self.decay)
                torch._foreach_add_(mixed, torch._foreach_mul(source, 1 - self.decay))
                torch._foreach_copy_(into, mixed)
        self.updates += 1
        self.n_averaged.fill_(self.updates)  # a host tensor unless the module was moved (then an async fill)


class UpdateTimes(NamedTuple):
    """Seconds per update (with ``between``'s work, if any) of each average."""
    stock: float  # torch.optim.swa_utils.AveragedModel with get_ema_multi_avg_fn
    polyak: float  # PolyakAverage


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_updates(model: nn.Module, device: str | torch.device, *, updates: int = 100, warmup: int = 5,
                 decay: float = 0.999, between: Optional[Callable[[nn.Module], None]] = None) -> UpdateTimes:
    """Time ``updates`` calls of ``update_parameters`` of :func:`stock_average` and of :class:`PolyakAverage`
    on a copy of ``model`` on ``device``, after ``warmup`` calls each; returns the seconds per update of each.

    ``between(model)``, if given, runs before every update (e.g. a training step of the copy): a blocking copy costs
    most when the device has work queued, which an update alone does not show."""
    if updates < 1 or warmup < 0:
        raise ValueError(f"updates must be positive and warmup not negative, got {updates!r} and {warmup!r}")
    device = torch.device(device)
    model = copy.deepcopy(model).to(device)
    seconds = {}
    for name, build in (("stock", stock_average), ("polyak", PolyakAverage)):
        average = build(model, decay)

        def update():
            if between is not None:
                between(model)
            average.update_parameters(model)

        for _ in range(warmup):
            update()
        _synchronize(device)
        started = time.perf_counter()
        for _ in range(updates):
            update()
        _synchronize(device)
        seconds[name] = (time.perf_counter() - started) / updates
    return UpdateTimes(**seconds)
