"""The throughput benchmark (reproduce.perf): it measures what it says, on the same work on both sides, and its
committed result is complete. No test here is timed: the benchmark reports speeds, the tests check behaviour."""

import json
from pathlib import Path

import matplotlib
import pytest
import torch
from torch import nn

from reproduce.analysis import costs
from reproduce.book import figures
from reproduce import perf
from reproduce.evaluate import crop_probabilities, cut_crops, default_batch_size, images_per_cut
from reproduce.evaluate.predict import CPU_ACTIVATION_BYTES, CROP_BYTES, GPU_CROP_BYTES
from reproduce.models import googlenet, googlenet_torchvision

matplotlib.use("Agg")
ROOT = Path(__file__).parent.parent
COMMITTED = ROOT / "benchmarks" / "results" / "performance.json"


@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(0)
    return googlenet(10, width=0.125, batch_norm=True, aux_heads=False).eval()


@pytest.mark.parametrize("height, width", [(40, 53), (53, 40), (37, 37)])
def test_the_naive_loop_gives_the_evaluators_probabilities(small_model, height, width):
    """Crop by crop, the naive loop cuts the same 144 crops, in the same order, as the batched evaluator's cutter, and
    the evaluator's mean and max over them are the naive loop's: the two sides of the comparison do the same work
    (landscape, portrait and square images)."""
    image = torch.rand(3, height, width, generator=torch.Generator().manual_seed(1))
    naive = perf.naive_crop_probabilities(small_model, image, crop=32)
    with torch.no_grad():
        cut = small_model(cut_crops(image[None], 144, 32)[0]).softmax(-1)
    batched = crop_probabilities(small_model, image[None], crops=144, size=32, batch_size=50)
    assert naive.shape == (144, 10)
    assert torch.allclose(naive, cut, atol=1e-5)
    assert torch.allclose(batched.mean[0, 0], naive.mean(0), atol=1e-5)
    assert torch.allclose(batched.max[0, 0], naive.amax(0), atol=1e-5)


def test_default_batch_size_keeps_the_first_layer_within_budget():
    """Crops per forward pass on the CPU: the first convolution's output stays within the budget, so 224 px crops of
    the full network go a few at a time and the book's 64 px crops of width 0.25 many at a time; 512 on a GPU."""
    full, quarter = googlenet_torchvision(aux_heads=False), googlenet(10, width=0.25, batch_norm=True)
    assert default_batch_size(full, 224) == 5  # 64 channels x 112 x 112 x 4 bytes = 3.2 MB per crop
    assert default_batch_size(quarter, 64) == 256  # 16 channels x 32 x 32 x 4 bytes = 64 kB per crop
    assert default_batch_size(full, 64) == 64
    assert default_batch_size(full, 224, "cuda") == 512
    assert default_batch_size(nn.Sequential(nn.Flatten(), nn.Linear(12, 2)), 2) == 512  # no convolution: no limit
    for batch in (5, 256):  # the chosen batch is the largest within the budget
        model, size = (full, 224) if batch == 5 else (quarter, 64)
        per_crop = 4 * model.conv1.conv.out_channels * (size // 2) ** 2
        assert batch * per_crop <= CPU_ACTIVATION_BYTES < (batch + 1) * per_crop


def test_images_per_cut_keeps_the_crops_within_budget():
    """On the CPU, 144 crops of a few 64 px images are cut together, of one 224 px image alone (never none); on a GPU
    those of a dozen 224 px images."""
    assert images_per_cut(144, 64) == 4 and images_per_cut(144, 224) == 1 and images_per_cut(144, 2048) == 1
    assert images_per_cut(1, 64) == CROP_BYTES // (3 * 64 * 64 * 4)
    assert 4 * 144 * 3 * 64 * 64 * 4 <= CROP_BYTES < 5 * 144 * 3 * 64 * 64 * 4
    per_image = 144 * 3 * 224 * 224 * 4
    assert images_per_cut(144, 224, "cuda") == 12 == GPU_CROP_BYTES // per_image
    assert images_per_cut(144, 224, torch.device("cuda")) * per_image <= GPU_CROP_BYTES
    assert images_per_cut(144, 2048, "cuda") == 1 and images_per_cut(144, 224, "cpu") == 1


def test_interleaved_seconds_alternates_the_contenders():
    """Warm-up calls first, then one call of each per round, in turn, so that a drift of the machine's speed
    affects every contender alike."""
    calls = []
    seconds = perf.interleaved_seconds({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                                       torch.device("cpu"), rounds=3, warmup=2)
    assert calls == ["a", "a", "b", "b"] + ["a", "b"] * 3
    assert set(seconds) == {"a", "b"} and all(s >= 0 for s in seconds.values())
    with pytest.raises(ValueError, match="rounds"):
        perf.interleaved_seconds({"a": lambda: None}, torch.device("cpu"), rounds=0)


def test_counted_flops_are_twice_the_multiply_adds_of_table1():
    """The FLOP counter that the shares of the peak rest on agrees with the Architecture chapter's count: inference
    of the torchvision-compatible network at 224 px is two FLOPs per multiply-add."""
    model = googlenet_torchvision(aux_heads=False).eval()
    with torch.no_grad():
        flops = perf.count_flops(lambda: model(torch.zeros(1, 3, 224, 224)))
    assert flops == 2 * costs.summary(model)["ops"]


@pytest.fixture(scope="module")
def small_suite():
    return perf.suite("cpu", sizes=(32,), crop_images={32: 1}, members=2, data_images=128, rounds=1, compile=False,
                      progress=False)


@pytest.mark.slow
def test_the_suite_measures_every_part(small_suite):
    """Every comparison is there, with positive rates, consistent ratios, and a row for every target."""
    result = small_suite
    json.dumps(result)  # what the benchmark writes
    assert result["matmul_peak"]["flops_per_second"] > 0 and result["machine"]["cores"] >= 1
    for row in result["training"] + result["inference"]:
        speeds = row["images_per_second"]
        assert row["ratio"] == pytest.approx(speeds["reproduce"] / speeds["torchvision"])
        assert row["share_of_peak"] == pytest.approx(row["flops_per_second"] / result["matmul_peak"]
                                                     ["flops_per_second"])
    training, inference = result["training"][0], result["inference"][0]
    assert training["flops_per_image"] > 2.5 * inference["flops_per_image"]  # backward ~ 2x forward, + aux heads
    profile = result["training_profile"][0]
    assert sum(profile["shares"].values()) == pytest.approx(1.0)
    assert set(profile["seconds"]) == {"torchvision", "reproduce"}
    assert profile["speedup"]["pooling"] == pytest.approx(profile["seconds"]["torchvision"]["pooling"] /
                                                          profile["seconds"]["reproduce"]["pooling"])
    assert profile["shares"]["convolution, forward"] > 0 and profile["shares"]["convolution, backward"] > 0
    crops = result["crops"][0]
    assert crops["speedup_over_naive"] == pytest.approx(crops["crops_per_second"]["evaluator"] /
                                                        crops["crops_per_second"]["naive loop"])
    assert result["ensemble"]["members"] == 2
    assert [row["augmentation"]["crop"] for row in result["data"]] == [False, True]
    for row in result["data"]:
        assert 0 < row["loading_share"] < 1
    assert {row["measure"] for row in result["targets"]} == set(perf.TARGETS)
    assert "compile" not in result


def test_targets_are_judged_in_their_direction(small_suite):
    result = json.loads(json.dumps(small_suite))
    result["training"][0]["ratio"], result["crops"][0]["overhead"] = 1.31, 0.11
    rows = {row["measure"]: row for row in perf.targets(result)}
    assert rows["training vs torchvision"]["met"] and not rows["144 crops, cutting overhead"]["met"]
    result["training"][0]["ratio"], result["crops"][0]["overhead"] = 1.29, 0.09
    rows = {row["measure"]: row for row in perf.targets(result)}
    assert not rows["training vs torchvision"]["met"] and rows["144 crops, cutting overhead"]["met"]
    table = perf.targets_table(result)
    assert list(table.columns) == ["measure", "size (px)", "measured", "target", "met"]
    assert table.loc[table["measure"] == "144 crops, cutting overhead", "measured"].item() == "+9.0%"
    assert table.loc[table["measure"] == "training vs torchvision", "target"].item() == "≥ 1.30x"


def test_findings_are_written_from_the_numbers(small_suite):
    text = perf.findings(small_suite)
    assert set(text) == {"profile", "ensemble", "data"}  # no compile timing in this result
    profile = small_suite["training_profile"][0]
    convolution = profile["shares"]["convolution, forward"] + profile["shares"]["convolution, backward"]
    assert f"Convolutions take {convolution:.0%} of a training step" in text["profile"]
    assert f"{small_suite['ensemble']['train_stacked_vs_loop']:.2f}x" in text["ensemble"]
    assert "Section 6's full augmentation" in text["data"]


def test_tables_format_the_measurements(small_suite):
    """The appendix's tables: one row per measurement, rates rounded, a compile time that never pays back said so,
    and no compile table for a result measured without it."""
    tables = perf.tables(small_suite)
    assert set(tables) == {"ensemble", "data"}
    rates = small_suite["ensemble"]["images_per_second"]
    assert tables["ensemble"]["model-images per second"].tolist() == [f"{v:,.0f}" for v in rates.values()]
    assert tables["data"]["augmentation"].tolist() == ["flip", "crop, photometric, random_interpolation, flip"]
    assert tables["data"]["loading share of an epoch"].tolist() == [f"{row['loading_share']:.0%}"
                                                                     for row in small_suite["data"]]
    result = json.loads(COMMITTED.read_text())
    result["compile"]["training"]["break_even_images"] = None
    compiled = perf.tables(result)["compile"]
    assert compiled["mode"].tolist() == ["training", "inference"]
    assert compiled["pays back after (images)"].iloc[0] == "never"
    assert compiled["compiled / eager"].iloc[1] == f"{result['compile']['inference']['ratio']:.2f}x"


def test_the_committed_result_is_complete_and_consistent():
    """The result the book's appendix shows: every part, measured at 224 and 64 px, with compile times; its
    targets are the ones its numbers give."""
    result = json.loads(COMMITTED.read_text())
    assert result["machine"]["processor"] and result["git_commit"]
    assert [row["image_size"] for row in result["training"]] == [224, 64]
    assert [row["crop"] for row in result["crops"]] == [224, 64]
    assert result["ensemble"]["members"] == 7
    assert result["compile"]["training"]["compile_seconds"] > 0
    assert result["targets"] == perf.targets(result)
    text = perf.findings(result)
    assert set(text) == {"profile", "compile", "ensemble", "data"}
    assert "Measured on the CPU" in perf.machine_line(result) or "Measured on an" in perf.machine_line(result)


def test_the_figures_draw_the_committed_result():
    result = json.loads(COMMITTED.read_text())
    fig = figures.performance(result)
    assert len(fig.axes) == 3
    bars = [p for p in fig.axes[0].patches]
    assert len(bars) == 2 * (len(result["training"]) + len(result["inference"]))
    fig = figures.training_profile(result["training_profile"])
    assert len(fig.axes) == len(result["training_profile"])
    assert all(len(ax.patches) == 2 * (len(perf.PROFILE_GROUPS) + 1) for ax in fig.axes)


def test_on_a_gpu_the_contenders_share_precision_and_layout_and_the_peak_is_the_models_dtype():
    """On CUDA torchvision's GoogLeNet is timed in the same layout as reproduce's (channels_last; both under bf16
    autocast), so the ratio measures the code alone; on the CPU it stays the NCHW baseline. A bf16 peak is measured
    in bf16, so that a bf16 model's share of the peak cannot pass 100% by comparing against fp32."""
    images = torch.randn(2, 3, 8, 8)
    assert perf.comparisons._like_reference(images, torch.device("cuda")).is_contiguous(memory_format=torch.channels_last)
    assert perf.comparisons._like_reference(images, torch.device("cpu")).is_contiguous()
    peak = perf.matmul_peak(torch.device("cpu"), sizes=(64,), rounds=1, dtype=torch.bfloat16)
    assert peak["dtype"] == "bfloat16" and peak["size"] == 64 and peak["flops_per_second"] > 0
    assert perf.matmul_peak(torch.device("cpu"), sizes=(64,), rounds=1)["dtype"] == "float32"


def test_the_ensemble_comparison_times_each_way_on_the_same_work():
    from reproduce.training import TrainConfig

    config = TrainConfig(width=0.125, batch_norm=True, image_size=32, optimizer="adamw", lr=2e-3, weight_decay=0.05,
                         device="cpu")
    result = perf.ensemble_comparison(config, 2, batch_size=4, rounds=1)
    speeds = result["images_per_second"]
    assert set(speeds) == {"train, one after another", "train, stacked (vmap)", "inference, loop", "inference, vmap"}
    assert result["train_stacked_vs_loop"] == speeds["train, stacked (vmap)"] / speeds["train, one after another"]
    assert result["inference_vmap_vs_loop"] == speeds["inference, vmap"] / speeds["inference, loop"]
    assert (result["members"], result["batch_size"], result["image_size"]) == (2, 4, 32)
