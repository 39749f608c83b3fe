"""Branch attribution on constructed modules where the answer is known, and on a small GoogLeNet."""

import numpy as np
import pandas as pd
import pytest
import torch

from reproduce import googlenet
from reproduce.analysis.attribution import (BRANCHES, branch_importance, branch_shares, linear_trend, sample,
                                            share_trend_sentence, table1_large_share, table1_shares,
                                            table1_trend_sentence, trend, with_intervals)


def small_model(seed=0):
    torch.manual_seed(seed)
    return googlenet(num_classes=4, width=0.125, stem="small", aux_heads=False, batch_norm=True).eval()


def zero_branch(model, module, index):
    """Every parameter of one branch set to zero, batch norm included: its output is exactly zero."""
    with torch.no_grad():
        for p in getattr(model.get_submodule(f"inception{module}"), f"branch{index + 1}").parameters():
            p.zero_()


def test_shares_add_up_to_one_and_a_zeroed_branch_has_none():
    model = small_model()
    zero_branch(model, "4b", 2)  # the 5x5 branch of 4b
    images = torch.randn(6, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    shares = branch_shares(model, images, batch_size=4)
    assert len(shares) == 9 * 4 * 6
    totals = shares.groupby(["module", "image"])["share"].sum()
    assert np.allclose(totals, 1.0, atol=1e-5)
    fifth = shares[(shares["module"] == "4b") & (shares["branch"] == "5x5")]["share"]
    assert (fifth == 0).all() and (shares[shares["module"] != "4b"]["share"] > 0).any()
    for index in range(3):  # 4c's output then comes from its pool branch alone
        zero_branch(model, "4c", index)
    only = branch_shares(model, images).query("module == '4c'").set_index(["branch", "image"])["share"]
    assert np.allclose(only["pool"], 1.0) and (only.drop(index="pool") == 0).all()


def test_a_zeroed_branch_has_zero_importance_under_either_replacement():
    model = small_model()
    zero_branch(model, "3a", 1)
    images = torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    targets = model(images).argmax(1)  # the intact model is right on every image
    for replace in ("zero", "mean"):
        importance = branch_importance(model, images, targets, replace=replace, modules=["3a"])
        assert importance["intact"].all()
        dead = importance[importance["branch"] == "3x3"]
        assert (dead["drop"] == 0).all() and dead["ablated"].all(), replace


def test_a_network_that_reads_one_branch_only_needs_that_branch_only():
    """5b's output feeds the classifier; a classifier whose weights read only the pool branch's channels of 5b
    needs that branch (its removal breaks every image) and no other branch of 5b."""
    model = small_model()
    f = model.inception5b.filters
    pool = slice(f["#1x1"] + f["#3x3"] + f["#5x5"], None)  # the pool branch's channels come last in the concatenation
    with torch.no_grad():
        model.fc.weight.zero_()
        model.fc.bias.zero_()
        model.fc.weight[0, pool] = 1.0  # class 0: the pool branch's (non-negative) activations
        model.fc.bias[1] = 1e-4  # class 1 wins when they are silent
    images = torch.rand(10, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    targets = torch.zeros(10, dtype=torch.int64)
    importance = branch_importance(model, images, targets, modules=["5b"]).set_index(["branch", "image"])
    assert importance["intact"].all()
    assert (importance.loc["pool", "drop"] == 1).all()
    for branch in ("1x1", "3x3", "5x5"):
        assert (importance.loc[branch, "drop"] == 0).all(), branch


def test_intervals_contain_the_mean_and_shrink_with_more_images():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"module": "3a", "branch": "1x1", "image": range(400), "drop": rng.integers(0, 2, 400)})
    few = with_intervals(frame.head(40), "drop").iloc[0]
    many = with_intervals(frame, "drop").iloc[0]
    for row in (few, many):
        assert row["low"] <= row["drop"] <= row["high"]
    assert many["high"] - many["low"] < few["high"] - few["low"]
    constant = with_intervals(frame.assign(drop=0), "drop").iloc[0]
    assert constant[["drop", "low", "high"]].tolist() == [0, 0, 0]


def test_table1_shares_and_trend():
    shares = table1_shares(googlenet()).set_index(["module", "branch"])["share"]
    assert shares["3a", "1x1"] == 64 / 256 and shares["5b", "5x5"] == 128 / 1024
    assert np.allclose(shares.groupby(level="module").sum(), 1.0)
    assert trend(pd.Series([1.0, 2.0, 3.0])) == pytest.approx(1.0)
    assert list(BRANCHES) == ["1x1", "3x3", "5x5", "pool"]


def test_large_kernel_trend_finds_a_slope_that_is_there_and_none_that_is_not():
    rng = np.random.default_rng(1)
    modules = ["3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b"]
    rows = []
    for run in range(3):
        for m, module in enumerate(modules):
            for branch in BRANCHES:
                rising = 0.02 * m if branch in ("3x3", "5x5") else 0.0
                values = 0.2 + rising + rng.normal(0, 0.05, 200)
                rows.append(pd.DataFrame({"run": run, "module": module, "branch": branch, "image": range(200),
                                          "share": values, "flat": 0.25 + rng.normal(0, 0.05, 200)}))
    frame = pd.concat(rows, ignore_index=True)
    rising = trend_of(frame, "share")
    assert rising["slope"] == pytest.approx(0.04, abs=0.005) and rising["low"] > 0 and rising["runs_positive"] == 3
    flat = trend_of(frame, "flat")
    assert flat["low"] < 0 < flat["high"] and abs(flat["slope"]) < 0.005 and flat["runs"] == 3


def trend_of(frame, value):
    from reproduce.analysis.attribution import large_kernel_trend

    return large_kernel_trend(frame, value, resamples=500)


def test_the_figure_draws_each_branch_with_its_interval_and_table1s_share():
    from reproduce.book import figures

    model = small_model()
    images = torch.randn(5, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    shares = with_intervals(branch_shares(model, images), "share", resamples=100)
    importance = with_intervals(branch_importance(model, images, model(images).argmax(1), modules=["3a", "5b"]),
                                "drop", resamples=100)
    fig = figures.branch_attribution(shares, importance, table1_shares(model))
    left, right = fig.axes
    assert [line.get_label() for line in left.lines[:4]] == list(BRANCHES)
    assert len(left.lines) == 8 and len(left.collections) == 4  # measured + Table 1's, and one band per branch
    three = shares[shares["branch"] == "3x3"]
    assert list(left.lines[1].get_ydata()) == pytest.approx(list(three["share"]))
    assert list(right.lines[0].get_xdata()) == ["3a", "5b"]


def test_sample_spreads_over_the_data_set():
    dataset = [(torch.full((3, 2, 2), float(i)), i // 5) for i in range(20)]
    images, labels = sample(dataset, 4)
    assert images[:, 0, 0, 0].tolist() == [0, 5, 10, 15] and labels.tolist() == [0, 1, 2, 3]
    assert len(sample(dataset)[0]) == 20


def test_the_relative_trend_reads_the_large_kernels_part_whatever_the_total_does():
    """Every branch matters less with depth (all drops shrink), but the 3x3 and 5x5 branches' part of the total
    grows: the absolute trend falls, the relative one rises."""
    rng = np.random.default_rng(2)
    modules = ["3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b"]
    rows = []
    for m, module in enumerate(modules):
        scale = 1.0 - 0.1 * m  # the total shrinks with depth
        part = 0.3 + 0.05 * m  # the large kernels' part of it grows
        for branch in BRANCHES:
            mean = scale * (part / 2 if branch in ("3x3", "5x5") else (1 - part) / 2)
            rows.append(pd.DataFrame({"module": module, "branch": branch, "image": range(300),
                                      "drop": mean + rng.normal(0, 0.02, 300)}))
    frame = pd.concat(rows, ignore_index=True)
    absolute = trend_of(frame, "drop")
    from reproduce.analysis.attribution import large_kernel_trend

    relative = large_kernel_trend(frame, "drop", relative=True, resamples=500)
    assert absolute["high"] < 0
    assert relative["low"] > 0 and relative["slope"] == pytest.approx(0.05, abs=0.01)


def test_the_verdict_follows_the_intervals():
    from reproduce.analysis.attribution import direction, verdict

    rising, falling, unresolved = ({"low": 0.01, "high": 0.03}, {"low": -0.03, "high": -0.01},
                                   {"low": -0.01, "high": 0.01})
    assert [direction(t) for t in (rising, falling, unresolved)] == [1, -1, 0]
    assert verdict(rising, rising) == "supports" and verdict(falling, falling) == "contradicts"
    assert verdict(rising, unresolved) == verdict(falling, rising) == "partly supports"
    assert verdict(falling, unresolved) == verdict(unresolved, unresolved) == "does not support"


def _slope_and_half_width(values):
    """The least-squares slope of ``values`` against 0, 1, ... and its 95% half-width, by hand: the residuals'
    variance over n - 2, over the spread of the positions, times Student's t with n - 2 degrees of freedom."""
    from scipy.stats import t

    y = np.asarray(values, dtype=float)
    x = np.arange(len(y), dtype=float)
    slope = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
    residuals = y - y.mean() - slope * (x - x.mean())
    error = np.sqrt((residuals ** 2).sum() / (len(y) - 2) / ((x - x.mean()) ** 2).sum())
    r2 = 1 - (residuals ** 2).sum() / ((y - y.mean()) ** 2).sum()
    return slope, t.ppf(0.975, len(y) - 2) * error, r2


def test_table1_gives_the_large_kernels_no_trend_its_interval_resolves_and_the_sentence_says_so():
    # Table 1's #3x3 + #5x5 over each module's output channels, 3a to 5b, computed from the printed filter counts
    printed = [(128 + 32) / 256, (192 + 96) / 480, (208 + 48) / 512, (224 + 64) / 512, (256 + 64) / 512,
               (288 + 64) / 528, (320 + 128) / 832, (320 + 128) / 832, (384 + 128) / 1024]
    large = table1_large_share(googlenet())
    assert large.tolist() == pytest.approx(printed)
    slope, half, r2 = _slope_and_half_width(printed)
    assert slope < 0 < slope + half  # falling, but within the scatter about the line (R^2 0.15)
    fit = linear_trend(large)
    assert [fit["slope"], fit["low"], fit["high"], fit["r2"]] == pytest.approx([slope, slope - half, slope + half, r2])
    sentence = table1_trend_sentence(googlenet())
    assert sentence.startswith("In Table 1 itself their share of each module's output channels goes 62.5%, 60.0%, ")
    assert (f"its least-squares slope is {100 * slope:+.2f} points per module (95% interval {100 * (slope - half):+.2f}"
            f" to {100 * (slope + half):+.2f}, R² {r2:.2f}), an interval that includes zero") in sentence
    assert "shrinks" not in sentence and "grows" not in sentence


def test_a_share_trend_is_given_a_direction_only_when_its_interval_excludes_zero():
    modules = ["3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b"]
    wobble = np.array([0.01, -0.01, 0.0, 0.01, -0.01, 0.0, 0.01, -0.01, 0.0])
    for step, word in ((0.02, "grows"), (-0.02, "shrinks")):
        values = 0.5 + step * np.arange(9) + wobble
        slope, half, _ = _slope_and_half_width(values)
        assert abs(slope) > half  # a clear line
        sentence = share_trend_sentence(pd.Series(values, index=modules))
        assert sentence.endswith(f"so it {word} with depth.") and f"{100 * slope:+.2f} points per module" in sentence
    flat = share_trend_sentence(pd.Series(0.5 + 3 * wobble, index=modules))
    assert "an interval that includes zero" in flat and "grows" not in flat and "shrinks" not in flat


def test_the_trend_table_and_sentences_state_each_measure_with_its_interval():
    from reproduce.analysis.attribution import trend_sentences, trend_table

    rising = {"slope": 0.02, "low": 0.01, "high": 0.03, "runs_positive": 6, "runs": 7}
    flat = {"slope": 0.001, "low": -0.01, "high": 0.012, "runs_positive": 4, "runs": 7}
    table1 = {"slope": -0.0084, "low": -0.0262, "high": 0.0094, "r2": 0.15}  # Table 1's, as linear_trend gives it
    table = trend_table(rising, flat, rising, table1)
    assert table["networks with a rising trend"].tolist() == ["6 of 7", "4 of 7", "6 of 7", ""]
    assert table["95% interval"].tolist()[1:] == ["-1.00% to +1.20%", "+1.00% to +3.00%", "-2.62% to +0.94%"]
    text = trend_sentences(rising, flat, rising, table1)
    assert "output energy rises with depth (+2.00% per module, 95% interval +1.00% to +3.00%)" in text
    assert "absolute accuracy loss shows no trend the test images can resolve" in text
    assert ("channels that changes by -0.84% per module (95% interval -2.62% to +0.94%, which includes zero): the "
            "paper's network widens every branch") in text and "shrinks" not in text
    assert text.endswith("**At this scale the data supports the claim** that the ratio of 3x3 and 5x5 convolutions "
                         "should increase in higher layers.")
    falling = trend_sentences(rising, flat, rising, {"slope": -0.02, "low": -0.03, "high": -0.01})
    assert "channels that shrinks by 2.00% per module (95% interval -3.00% to -1.00%): the paper's" in falling
    assert "grows by 2.00% per module (95% interval +1.00% to +3.00%), as the argument asks." in trend_sentences(
        rising, flat, rising, rising)


def test_measure_marks_each_networks_rows_and_the_intact_accuracy_is_per_network():
    from reproduce.analysis.attribution import intact_accuracy, measure

    torch.manual_seed(0)
    models = {"a": googlenet(10, width=0.125, aux_heads=False).eval(), "b": googlenet(10, width=0.125, aux_heads=False).eval()}
    images, targets = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    shares, importance = measure(models, images, targets)
    assert set(shares["run"]) == set(importance["run"]) == {"a", "b"}
    for name, model in models.items():
        with torch.no_grad():
            expected = (model(images).argmax(1) == targets).float().mean().item()
        assert intact_accuracy(importance)[name] == pytest.approx(expected)
