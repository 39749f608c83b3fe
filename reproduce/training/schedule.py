"""The learning-rate schedule of Section 6: "decreasing the learning rate by 4% every 8 epochs".

It is a step schedule, ``torch.optim.lr_scheduler.StepLR``, stepped once per iteration with a step size of
``step_epochs`` epochs' worth of iterations, so ``step_epochs`` may be fractional.

**Compressing it for short runs.** The paper's schedule loses 4% every 8 epochs over a run of many epochs. To fit the
same curve (the same total decay, in as many steps) into a run that is ``k`` times shorter, divide ``step_epochs`` by
``k``: :func:`compressed_step_epochs` does that. A 10-epoch run that follows the shape of a 250-epoch schedule decays
by 4% every 0.32 epochs.
"""

from __future__ import annotations

import torch

PAPER_GAMMA = 0.96
PAPER_STEP_EPOCHS = 8.0


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
