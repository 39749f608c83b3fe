"""The learning-rate schedules: Section 6's step schedule and Caffe's "poly", built from a TrainConfig."""

import math

import pytest
import torch

from reproduce.training import TrainConfig, train
from reproduce.training.schedule import build_scheduler

TINY = dict(dataset="shapes", shapes_size=32, image_size=32, train_images=64, eval_images=32, width=0.125,
            batch_size=16, lr=0.02, progress=False)


def learning_rates(config: TrainConfig, steps_per_epoch: int) -> list[float]:
    """The learning rate of every optimizer step of a run of ``config``."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=config.lr)
    scheduler = build_scheduler(optimizer, config, steps_per_epoch)
    rates = []
    for _ in range(config.epochs * steps_per_epoch):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_poly_follows_caffe_s_formula_over_the_whole_run():
    config = TrainConfig(lr=0.04, epochs=60, lr_schedule="poly")
    steps_per_epoch = 10
    total = 60 * steps_per_epoch
    rates = learning_rates(config, steps_per_epoch)
    assert rates[0] == 0.04
    assert rates[total // 2] == pytest.approx(0.04 * math.sqrt(0.5), rel=1e-9)
    assert rates[-1] == pytest.approx(0.04 * (1 / total) ** 0.5, rel=1e-9)
    for t in (1, 123, 456, total - 2):
        assert rates[t] == pytest.approx(0.04 * (1 - t / total) ** 0.5, rel=1e-9), t
    squared = learning_rates(config.replace(lr_power=2.0), steps_per_epoch)
    assert squared[total // 4] == pytest.approx(0.04 * 0.75 ** 2, rel=1e-9)


def test_step_is_the_paper_s_schedule():
    config = TrainConfig(lr=1.0, epochs=20, lr_step_epochs=8)
    rates = learning_rates(config, steps_per_epoch=10)
    assert rates[79] == 1.0 and rates[80] == pytest.approx(0.96) and rates[160] == pytest.approx(0.96 ** 2)
    assert rates[-1] == pytest.approx(0.96 ** 2)


@pytest.mark.parametrize("change, name", [(dict(lr_schedule="cosine"), "lr_schedule"),
                                          (dict(lr_power=0), "lr_power")])
def test_bad_schedule_options_are_rejected_by_name(change, name):
    with pytest.raises(ValueError, match=name):
        TrainConfig(**change)


def test_a_poly_run_anneals_over_its_epochs():
    config = TrainConfig(**TINY, epochs=2, lr_schedule="poly")  # 4 steps an epoch
    result = train(config)
    assert [row["lr"] for row in result.history] == pytest.approx([0.02, 0.02 * math.sqrt(0.5)], rel=1e-9)
    assert result.steps[-1]["lr"] == 0.0  # after the last step
