"""Polyak averaging without a host-device round trip per step: the same weights as torch's AveragedModel EMA."""

import copy

import pytest
import torch

from reproduce.models import googlenet
from reproduce.training.polyak import PolyakAverage, UpdateTimes, stock_average, time_updates


def small_model():
    # batch norm: float running statistics and an integer num_batches_tracked among the averaged buffers
    return googlenet(10, width=0.125, stem="small", batch_norm=True)


def train_a_little(model, optimizer, generator):
    model.train()
    images = torch.randn(4, 3, 32, 32, generator=generator)
    targets = torch.randint(0, 10, (4,), generator=generator)
    outputs = model(images)
    loss = sum(torch.nn.functional.cross_entropy(o, targets) for o in outputs)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def assert_same(expected: dict, actual: dict):
    assert list(expected) == list(actual)
    for name, value in expected.items():
        assert value.dtype == actual[name].dtype, name
        assert torch.equal(value, actual[name]), name


def test_the_average_is_the_stock_ema_bit_for_bit_from_the_first_update_and_after_a_resume():
    model = small_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    generator = torch.Generator().manual_seed(0)
    decay = 0.8
    stock, mine = stock_average(model, decay), PolyakAverage(model, decay)
    train_a_little(model, optimizer, generator)
    stock.update_parameters(model)
    mine.update_parameters(model)  # the first update copies the model
    assert_same(model.state_dict(), mine.module.state_dict())
    assert_same(stock.state_dict(), mine.state_dict())
    for _ in range(5):
        train_a_little(model, optimizer, generator)
        stock.update_parameters(model)
        mine.update_parameters(model)
    assert_same(stock.state_dict(), mine.state_dict())  # `module.` weights and the n_averaged buffer
    assert int(mine.n_averaged) == mine.updates == 6
    weight = model.fc.weight.detach()
    assert not torch.equal(mine.module.fc.weight, weight)  # it did average, not copy
    tracked = dict(mine.module.named_buffers())["conv1.bn.num_batches_tracked"]
    assert tracked.dtype == torch.int64 and 1 <= tracked.item() < 6  # rounded down, as the stock EMA does

    # a run resumed from either's state_dict continues exactly
    resumed = PolyakAverage(small_model(), decay)
    resumed.load_state_dict(copy.deepcopy(stock.state_dict()))
    assert resumed.updates == 6
    for _ in range(3):
        train_a_little(model, optimizer, generator)
        stock.update_parameters(model)
        resumed.update_parameters(model)
    assert_same(stock.state_dict(), resumed.state_dict())


def test_the_average_refuses_another_architecture_and_a_bad_decay():
    with pytest.raises(ValueError, match="decay"):
        PolyakAverage(small_model(), 1.5)
    average = PolyakAverage(small_model(), 0.9)
    with pytest.raises(ValueError, match="another architecture"):
        average.update_parameters(torch.nn.Linear(3, 2))


def test_time_updates_returns_seconds_per_update_of_each():
    times = time_updates(torch.nn.Linear(8, 4), "cpu", updates=3, warmup=1)
    assert isinstance(times, UpdateTimes) and times.stock > 0 and times.polyak > 0


def test_the_decay_is_the_time_constant_in_steps_and_never_negative():
    from reproduce.training.loop import polyak_decay

    assert polyak_decay(1.0, 100) == pytest.approx(0.99)  # a time constant of 100 steps
    assert polyak_decay(0.1, 150) == pytest.approx(1 - 1 / 15)
    assert polyak_decay(0.1, 8) == 0.0  # under one step: the average follows the weights (not a negative decay)
