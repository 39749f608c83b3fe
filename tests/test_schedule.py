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


@pytest.mark.parametrize("schedule", ["poly", "step"])
def test_a_warm_up_multiplies_the_schedule_by_a_linear_rise_over_its_first_epochs(schedule):
    """Goyal et al.'s gradual warm-up: (t + 1) / W of the schedule's own rate for the first W steps, the schedule
    unchanged after them."""
    config = TrainConfig(lr=0.4, epochs=6, lr_schedule=schedule, lr_step_epochs=1.0)
    steps, warm = 10, 2.5
    plain, warmed = learning_rates(config, steps), learning_rates(config.replace(warmup_epochs=warm), steps)
    W = round(warm * steps)
    for t, (rate, expected) in enumerate(zip(warmed, plain)):
        assert rate == pytest.approx(expected * min(1.0, (t + 1) / W), rel=1e-9, abs=1e-15), t
    assert warmed[0] == pytest.approx(0.4 / W) and warmed[W:] == pytest.approx(plain[W:], rel=1e-9)


def test_without_a_warm_up_the_schedule_and_the_run_s_folder_are_as_before_warm_ups_existed():
    import hashlib
    import json

    from reproduce.training.store import EXECUTION_OPTIONS, run_key

    config = TrainConfig(lr_schedule="poly")
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=config.lr)
    assert type(build_scheduler(optimizer, config, 10)) is torch.optim.lr_scheduler.PolynomialLR
    before = {k: v for k, v in config.to_dict().items() if k not in EXECUTION_OPTIONS and k != "warmup_epochs"}
    before["init_seed"] = before["seed"]  # what run_key computed before the option existed
    assert run_key(config) == hashlib.sha256(json.dumps(before, sort_keys=True).encode()).hexdigest()[:12]
    assert run_key(config.replace(warmup_epochs=1.0)) != run_key(config)


def test_a_larger_global_batch_scales_the_rate_linearly_and_warms_up_for_five_epochs():
    from reproduce.training.schedule import scaled_to_batch

    config = TrainConfig(lr=0.04, batch_size=128, epochs=60)
    eight = scaled_to_batch(config, 1024)
    assert (eight.batch_size, eight.lr, eight.warmup_epochs) == (1024, pytest.approx(0.32), 5.0)
    assert scaled_to_batch(config.replace(epochs=3), 1024).warmup_epochs == 3  # at most the run
    half = scaled_to_batch(config, 64)
    assert (half.lr, half.warmup_epochs) == (pytest.approx(0.02), 0.0)
    with pytest.raises(ValueError, match="warmup_epochs"):
        TrainConfig(warmup_epochs=-1)


def test_a_run_stopped_in_its_warm_up_resumes_with_the_rates_of_one_run(tmp_path):
    config = TrainConfig(**TINY, epochs=2, warmup_epochs=1.5)  # 4 steps an epoch: 6 of warm-up
    whole = train(config)
    train(config.replace(epochs=1), tmp_path)
    resumed = train(config, tmp_path, resume=True)
    assert [s["lr"] for s in resumed.steps] == pytest.approx([s["lr"] for s in whole.steps], rel=1e-12)
    assert whole.steps[0]["lr"] == pytest.approx(0.02 * 5 / 6, rel=1e-9)  # after the first epoch's 4 steps
    assert whole.steps[1]["lr"] == pytest.approx(0.02, rel=1e-9)  # warmed up; the step schedule's first step is later
