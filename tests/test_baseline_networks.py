"""The networks the central claim compares GoogLeNet with: Table 1's inception rows replaced by plain stacks of two
3x3 convolutions or by the naive module of Figure 2a, at GoogLeNet's multiply-adds (costs.equal_cost_scale)."""

import pytest
import torch
from torch import nn

from reproduce import googlenet
from reproduce.analysis.costs import equal_cost_scale, network_macs
from reproduce.models.blocks import NaiveInceptionModule, PlainBlock
from reproduce.training import TrainConfig

STAGES = ("inception3a", "inception3b", "inception4a", "inception4b", "inception4c", "inception4d", "inception4e",
          "inception5a", "inception5b")


def hand_counted_macs(model: nn.Module, size: int) -> int:
    """Multiply-adds of the convolutions and the classifier, counted from each layer's shape by hand: an
    independent count of what torch.utils.flop_counter reports (pools and normalizations cost no multiply-adds
    there either)."""
    shapes = {}
    hooks = [m.register_forward_hook(lambda m, i, o: shapes.__setitem__(m, o.shape))
             for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    for hook in hooks:
        hook.remove()
    total = 0
    for m, shape in shapes.items():
        if isinstance(m, nn.Conv2d):
            total += shape[2] * shape[3] * m.out_channels * m.in_channels * m.kernel_size[0] * m.kernel_size[1]
        else:
            total += m.in_features * m.out_features
    return total


def test_the_plain_network_has_googlenets_22_layers_and_its_stages():
    model = googlenet(20, blocks="plain", block_scale=0.5, width=0.25, aux_heads=False)
    blocks = [getattr(model, name) for name in STAGES]
    assert all(isinstance(b, PlainBlock) for b in blocks) and not model.inception_modules()
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) == 22  # conv1, conv2, conv3, 9 x 2, fc: the paper's depth
    reference = googlenet(20, width=0.25, aux_heads=False)
    for name in STAGES:  # each block's width is the module's output times the scale
        assert getattr(model, name).out_channels == max(1, round(getattr(reference, name).out_channels * 0.5))
    assert model(torch.zeros(2, 3, 64, 64)).shape == (2, 20)


def test_the_naive_network_passes_its_input_through_every_stage():
    model = googlenet(10, blocks="naive", block_scale=0.5, width=0.25, aux_heads=False)
    reference = googlenet(10, width=0.25, aux_heads=False)
    channels = model.conv3.conv.out_channels
    for name in STAGES:
        block, filters = getattr(model, name), getattr(reference, name).filters
        assert isinstance(block, NaiveInceptionModule) and block.in_channels == channels
        added = sum(max(1, round(filters[k] * 0.5)) for k in ("#1x1", "#3x3", "#5x5"))
        assert block.out_channels == channels + added
        channels = block.out_channels
    assert model.fc.in_features == channels


@pytest.mark.parametrize("blocks", ["plain", "naive"])
def test_the_equal_cost_scale_gives_googlenets_multiply_adds(blocks):
    options = dict(width=0.25, batch_norm=True)
    scale = equal_cost_scale(blocks, 64, 10, **options)
    googlenet_macs = hand_counted_macs(googlenet(10, aux_heads=False, **options), 64)
    other = hand_counted_macs(googlenet(10, aux_heads=False, blocks=blocks, block_scale=scale, **options), 64)
    assert abs(other - googlenet_macs) / googlenet_macs < 0.02
    # and the counter the scale was solved with agrees with the hand count
    assert network_macs(64, 10, blocks=blocks, block_scale=scale, **options) == other


def test_blocks_are_a_training_choice_refused_by_name_when_unknown():
    config = TrainConfig(blocks="plain", block_scale=0.3)
    assert config.model_options()["blocks"] == "plain" and config.model_options()["block_scale"] == 0.3
    with pytest.raises(ValueError, match="blocks='dense'"):
        TrainConfig(blocks="dense")
    with pytest.raises(ValueError, match="block_scale"):
        TrainConfig(block_scale=0)
    with pytest.raises(ValueError, match="blocks='dense'"):
        googlenet(blocks="dense")
