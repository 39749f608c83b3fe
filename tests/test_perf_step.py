"""The training-step benchmark (benchmarks/training_step.py) on the CPU at a small size: every contender timed in
one run, the ratios and FLOP/s computed from the times, the FLOPs the model's, and the data pipeline alone."""

import pytest

from reproduce.analysis import costs
from reproduce import googlenet
from reproduce.perf.step import benchmark, table


pytestmark = pytest.mark.slow  # the two networks built, counted and timed, the peak measured: most of a minute


@pytest.fixture(scope="module")
def result():
    return benchmark("cpu", image_size=64, batch_size=4, rounds=1, compile=False, photos=4, num_workers=1)


def test_every_contender_is_timed_against_torchvision_and_the_peak(result):
    assert set(result["training"]) == {"torchvision", "paper network", "paper network, fused SGD",
                                       "paper network, + Polyak update"}  # no CUDA graphs off CUDA; compile off here
    assert set(result["inference"]) == {"torchvision", "paper network"}
    assert (result["precision"], result["layout"], result["peak"]["dtype"]) == ("fp32", "channels_last", "float32")
    for mode in ("training", "inference"):
        rows = result[mode]
        reference = rows["torchvision"]["images_per_second"]
        for name, row in rows.items():
            assert row["vs_torchvision"] == pytest.approx(row["images_per_second"] / reference)
            assert row["share_of_peak"] == pytest.approx(row["flops_per_second"] / result["peak"]["flops_per_second"])
    printed = table(result)
    assert len(printed) == 4 + 2 + 1 and printed.iloc[-1]["images_per_second"] == result["pipeline"]["images_per_second"]
    assert result["pipeline"]["images_per_second"] > 0 and result["pipeline"]["num_workers"] == 1


def test_the_flops_of_a_training_step_are_three_forward_passes_of_the_model(result):
    """Forward, and the backward pass's two products per layer (the input's gradient is not needed at the first
    convolution): between 2.9 and 3 forward passes of the paper's network with its auxiliary heads, as counted from
    the model on its own (reproduce.analysis.costs)."""
    model = googlenet(1000)
    whole = costs.profile(model, (4, 3, 64, 64))  # eval mode: the main path
    heads = [costs.profile(head, whole.outputs[after]).macs[""]
             for head, after in ((model.aux1, "inception4a"), (model.aux2, "inception4d"))]
    forward = 2 * (whole.macs[""] + sum(heads))  # FLOPs of the 4 images' forward pass, both heads included
    row = result["training"]["paper network"]
    counted = row["flops_per_second"] / row["images_per_second"] * 4
    assert 2.9 * forward <= counted <= 3.0 * forward
