"""The default initialization lets the paper network (no batch norm) train; torchvision's does not."""

import math

import pytest
import torch
import torch.nn.functional as F

from reproduce import googlenet
from reproduce.models.init import activation_scales, init_weights


def test_kaiming_keeps_the_signal_and_torchvision_init_loses_it():
    x = torch.randn(4, 3, 224, 224)
    kaiming = activation_scales(googlenet(), x)
    small = activation_scales(googlenet(init="torchvision"), x)
    assert 0.3 < kaiming["inception5b"] / kaiming["conv1"] < 10
    assert small["inception5b"] / small["conv1"] < 1e-6
    assert list(kaiming)[:2] == ["conv1", "maxpool1"] and "fc" in kaiming


def test_caffe_scheme_is_caffes_xavier_with_bias_0_2():
    model = googlenet(init="caffe")
    w = model.inception3a.branch2[1].conv
    bound = math.sqrt(3 / (w.in_channels * 9))
    assert w.weight.abs().max() <= bound and w.weight.abs().max() > 0.9 * bound
    assert torch.all(w.bias == 0.2) and torch.all(model.fc.bias == 0)


def test_init_rejects_unknown_scheme():
    with pytest.raises(ValueError, match="kaiming"):
        init_weights(googlenet(), "lecun")


def colour_task(n, generator):
    """Ten classes, each a colour, under pixel noise: learnable by any network whose signal reaches the classifier."""
    colours = torch.randn(10, 3, 1, 1, generator=torch.Generator().manual_seed(1))
    y = torch.randint(0, 10, (n,), generator=generator)
    return colours[y] + 0.5 * torch.randn(n, 3, 16, 16, generator=generator), y


def train_briefly(init, steps=80):
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    model = googlenet(num_classes=10, stem="small", width=0.25, init=init)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    losses = []
    for _ in range(steps):
        x, y = colour_task(32, generator)
        out = model.train()(x)
        loss = F.cross_entropy(out.logits, y)
        total = loss + 0.3 * (F.cross_entropy(out.aux1, y) + F.cross_entropy(out.aux2, y))
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        losses.append(loss.item())
    x, y = colour_task(512, generator)
    with torch.no_grad():
        accuracy = (model.eval()(x).argmax(1) == y).float().mean().item()
    return sum(losses[:10]) / 10, sum(losses[-10:]) / 10, accuracy


@pytest.mark.slow
def test_paper_network_without_batch_norm_trains_under_the_default_init():
    first, last, accuracy = train_briefly("kaiming")
    assert last < 0.8 * first
    assert accuracy > 0.35  # chance is 0.1


@pytest.mark.slow
def test_paper_network_does_not_train_under_torchvision_init():
    first, last, accuracy = train_briefly("torchvision")
    assert abs(last - math.log(10)) < 0.05
    assert accuracy < 0.2
