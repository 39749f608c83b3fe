"""The learning-rate schedules: Section 6's step schedule, and the "poly" schedule of Caffe's GoogLeNet solver.

**Section 6**: "decreasing the learning rate by 4% every 8 epochs". It is a step schedule,
``torch.optim.lr_scheduler.StepLR``, stepped once per iteration with a step size of ``step_epochs`` epochs' worth of
iterations, so ``step_epochs`` may be fractional (:func:`paper_schedule`).

**Compressing it for short runs.** The paper's schedule loses 4% every 8 epochs over a run of many epochs. To fit the
same curve (the same total decay, in as many steps) into a run that is ``k`` times shorter, divide ``step_epochs`` by
``k``: :func:`compressed_step_epochs` does that. A 10-epoch run that follows the shape of a 250-epoch schedule decays
by 4% every 0.32 epochs. Uncompressed over a short run it barely decays: 60 epochs end at 0.96 ** 7, 75% of the
start.

**Caffe's "poly".** The base learning rate, weight decay and epoch count that the paper leaves open are usually taken
from Caffe's bvlc_googlenet solvers; the quick_solver among them anneals with ``lr_policy: "poly"``,
``lr = base_lr * (1 - iteration / max_iter) ** power`` with ``power: 0.5``, which reaches 0 at the end of the run.
``lr_schedule="poly"`` is that, over the whole run (``epochs x steps_per_epoch`` iterations), with
``torch.optim.lr_scheduler.PolynomialLR``.

**A larger global batch** (more GPUs, each kept busy) follows Goyal et al. (2017), "Accurate, Large Minibatch SGD:
Training ImageNet in 1 Hour": the learning rate scaled with the batch (linear scaling), reached by a linear warm-up
over the first 5 epochs. :func:`scaled_to_batch` gives the configuration at another global batch; ``warmup_epochs``
multiplies any schedule by ``(t + 1) / W`` for its first ``W`` steps (``torch.optim.lr_scheduler.LinearLR``, chained
with the schedule by ``ChainedScheduler``), so that the schedule itself runs as it would without it.

:func:`build_scheduler` builds the one a :class:`~reproduce.training.config.TrainConfig` names; the training loop
steps it after every optimizer step.
"""

from __future__ import annotations

import torch

#: ``"step"``: Section 6's, ``lr_gamma`` every ``lr_step_epochs`` epochs. ``"poly"``: Caffe's bvlc_googlenet
#: quick_solver (``lr_policy: "poly"``, ``power: 0.5``), the base lr times ``(1 - iteration / iterations) ** lr_power``
#: over the whole run, down to 0 at its end. The configuration (:mod:`.config`) takes its choices and defaults from
#: here; this module takes a configuration as it comes, and imports nothing of it.
LR_SCHEDULE_CHOICES = ("step", "poly")
#: Section 6: "decreasing the learning rate by 4% every 8 epochs".
PAPER_GAMMA = 0.96
PAPER_STEP_EPOCHS = 8.0
#: Caffe's bvlc_googlenet quick_solver.prototxt: ``lr_policy: "poly"``, ``power: 0.5``.
CAFFE_POLY_POWER = 0.5
#: Goyal et al. (2017): the warm-up to the linearly scaled rate lasts the first 5 epochs.
GOYAL_WARMUP_EPOCHS = 5.0


def compressed_step_epochs(epochs: float, reference_epochs: float, step_epochs: float = PAPER_STEP_EPOCHS) -> float:
    """``step_epochs`` scaled so that ``epochs`` epochs decay as much as ``reference_epochs`` epochs would."""
    if not (epochs > 0 and reference_epochs > 0):
        raise ValueError("epochs and reference_epochs must be positive")
    return step_epochs * epochs / reference_epochs


def paper_schedule(optimizer: torch.optim.Optimizer, steps_per_epoch: int, *, gamma: float = PAPER_GAMMA,
                   step_epochs: float = PAPER_STEP_EPOCHS) -> torch.optim.lr_scheduler.StepLR:
    """Multiply the learning rate by ``gamma`` every ``step_epochs`` epochs (at least every iteration); call
    ``.step()`` after every optimizer step."""
    step_size = max(1, round(step_epochs * steps_per_epoch))
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)


def poly_schedule(optimizer: torch.optim.Optimizer, iterations: int, *,
                  power: float = CAFFE_POLY_POWER) -> torch.optim.lr_scheduler.PolynomialLR:
    """Caffe's "poly": the learning rate at iteration ``t`` (counted from 0) is the base rate times
    ``(1 - t / iterations) ** power``; call ``.step()`` after every optimizer step."""
    if not (isinstance(iterations, int) and iterations >= 1):
        raise ValueError(f"iterations must be a positive integer, got {iterations!r}")
    return torch.optim.lr_scheduler.PolynomialLR(optimizer, total_iters=iterations, power=power)


def build_scheduler(optimizer: torch.optim.Optimizer, config: "TrainConfig",
                    steps_per_epoch: int) -> torch.optim.lr_scheduler.LRScheduler:
    """The schedule ``config.lr_schedule`` names, for a run of ``config.epochs`` epochs of ``steps_per_epoch``
    optimizer steps: ``"step"``, :func:`paper_schedule` with ``lr_gamma`` and ``lr_step_epochs``; ``"poly"``,
    :func:`poly_schedule` over ``epochs x steps_per_epoch`` iterations with ``lr_power``."""
    if config.lr_schedule == "step":
        schedule = paper_schedule(optimizer, steps_per_epoch, gamma=config.lr_gamma,
                                  step_epochs=config.lr_step_epochs)
    elif config.lr_schedule == "poly":
        schedule = poly_schedule(optimizer, config.epochs * steps_per_epoch, power=config.lr_power)
    else:
        raise ValueError(f"lr_schedule={config.lr_schedule!r} is not one of {LR_SCHEDULE_CHOICES}")
    warmup = round(config.warmup_epochs * steps_per_epoch)
    if warmup < 1:  # no warm-up: the schedule alone, as before warm-ups existed
        return schedule
    # (t + 1) / W at step t < W, 1 from W - 1 on: LinearLR from 1/W to 1 over W - 1 steps
    rise = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1 / warmup, end_factor=1.0,
                                             total_iters=max(1, warmup - 1))
    return torch.optim.lr_scheduler.ChainedScheduler([schedule, rise], optimizer=optimizer)


def scaled_to_batch(config: "TrainConfig", batch_size: int, *,
                    warmup_epochs: float = GOYAL_WARMUP_EPOCHS) -> "TrainConfig":
    """``config`` at a global batch of ``batch_size`` images (for example 128 per GPU on eight): the learning rate
    scaled by ``batch_size / config.batch_size`` and, where the batch grows, a warm-up of ``warmup_epochs`` (at most
    the run's epochs; Goyal et al., 2017). A smaller batch scales the rate down, with no warm-up."""
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    grows = batch_size > config.batch_size
    return config.replace(batch_size=batch_size, lr=config.lr * batch_size / config.batch_size,
                          warmup_epochs=min(warmup_epochs, config.epochs) if grows else config.warmup_epochs)
