"""The Inception-v3 ablation: six runs that each change one thing, the table and the figure that report them."""

import math
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from reproduce.analysis import costs
from reproduce.book import figures, formatting
from reproduce.book.chapters import beyond as beyond_chapter
from reproduce import googlenet
from reproduce.training import TrainConfig, inception_v3_ablation  # noqa: E402
from reproduce.training.ablation import STEPS, changes, factorization_costs, inference_costs  # noqa: E402

BASE = TrainConfig(image_size=32, shapes_size=32, width=0.125, epochs=2, batch_size=16, train_images=64,
                   eval_images=32, optimizer="adamw", lr=1e-3, seed=3, progress=False)
NAMES = ["GoogLeNet (paper)", "+ batch norm", "+ factorized 5x5", "+ label smoothing", "+ BN-auxiliary",
         "no auxiliary heads"]


@pytest.fixture(scope="module")
def configs():
    return inception_v3_ablation(BASE)


def test_six_runs_in_order_starting_from_the_paper_network(configs):
    assert list(configs) == NAMES == [step.name for step in STEPS]
    paper = configs["GoogLeNet (paper)"]
    assert (paper.batch_norm, paper.branch5x5, paper.label_smoothing, paper.aux_heads, paper.aux_batch_norm) == \
        (False, "5x5", 0.0, True, False)


def test_each_run_changes_exactly_one_thing_from_the_run_before(configs):
    expected = {"+ batch norm": {"batch_norm": (False, True)},
                "+ factorized 5x5": {"branch5x5": ("5x5", "2x3x3")},
                "+ label smoothing": {"label_smoothing": (0.0, 0.1)},
                "+ BN-auxiliary": {"aux_batch_norm": (False, True)},
                "no auxiliary heads": {"aux_heads": (True, False)}}
    assert changes(configs) == expected
    parents = dict(zip(NAMES[1:5], NAMES[:4])) | {"no auxiliary heads": "+ batch norm"}
    for after, before in parents.items():  # rows 2-5 change the row above; row 6 removes row 2's heads
        old, new = configs[before].to_dict(), configs[after].to_dict()
        assert len([k for k in new if old[k] != new[k]]) == 1, after


def test_the_last_row_is_the_training_chapters_network_without_heads(configs):
    from reproduce.training.ablation import ablation_runs, training_chapter_runs

    base = BASE.replace(batch_norm=True)
    training = training_chapter_runs(base, seeds=2, augmentation=False)
    beyond = ablation_runs(base, seeds=2)
    for k in range(2):  # the same configuration, so the book trains it once (run folders are keyed on it)
        assert beyond[f"no auxiliary heads (seed {k})"] == training[f"without auxiliary heads (seed {k})"]
        assert beyond[f"+ batch norm (seed {k})"] == training[f"GoogLeNet (seed {k})"]


def test_every_run_has_the_base_budget(configs):
    budget = ("epochs", "train_images", "eval_images", "batch_size", "lr", "lr_step_epochs", "optimizer", "seed",
              "steps_per_epoch", "width", "image_size", "weight_decay")
    for config in configs.values():
        assert {k: getattr(config, k) for k in budget} == {k: getattr(BASE, k) for k in budget}


def test_the_base_model_choices_do_not_leak_into_the_first_row():
    configs = inception_v3_ablation(BASE.replace(batch_norm=True, branch5x5="2x3x3", label_smoothing=0.2))
    assert configs["GoogLeNet (paper)"] == inception_v3_ablation(BASE)["GoogLeNet (paper)"]


def test_aux_batch_norm_adds_batch_norm_1d_to_the_auxiliary_heads_only(configs):
    def model(name):
        torch.manual_seed(0)
        return googlenet(10, **configs[name].model_options())

    before, after = model("+ label smoothing"), model("+ BN-auxiliary")
    assert not any(isinstance(m, nn.BatchNorm1d) for m in before.modules())
    bn1d = {name for name, m in after.named_modules() if isinstance(m, nn.BatchNorm1d)}
    assert bn1d == {"aux1.fc1_bn", "aux2.fc1_bn"}
    assert after.aux1.fc1.bias is None and before.aux1.fc1.bias is not None
    # nothing outside the heads changes: the same keys and shapes
    main = lambda m: {k: v.shape for k, v in m.state_dict().items() if not k.startswith("aux")}  # noqa: E731
    assert main(before) == main(after)
    assert inference_costs(configs["+ label smoothing"], 10) == inference_costs(configs["+ BN-auxiliary"], 10)


def test_costs_of_the_inference_network(configs):
    paper = inference_costs(configs["GoogLeNet (paper)"], 10)
    model = googlenet(10, width=BASE.width, aux_heads=False)
    assert paper["params"] == costs.count_params(model)
    assert paper["macs"] == costs.profile(model, (1, 3, 32, 32)).macs[""]
    assert inference_costs(configs["no auxiliary heads"], 10) == inference_costs(configs["+ batch norm"], 10)


def test_factorization_is_18_25ths_at_equal_width_and_counted_per_branch(configs):
    result = factorization_costs(configs["+ batch norm"], 10, channels=16, grid=6)
    assert result["equal_width"]["5x5"] == 16 * 16 * 25 * 36
    assert result["equal_width"]["ratio"] == pytest.approx(18 / 25)
    network = {c: inference_costs(configs["+ batch norm"].replace(branch5x5=c), 10)["macs"] for c in ("5x5", "2x3x3")}
    assert result["network"]["5x5"] == network["5x5"] and result["network"]["2x3x3"] == network["2x3x3"]
    # the branches are the only part that differs
    assert result["network"]["2x3x3"] - result["network"]["5x5"] == \
        result["branches"]["2x3x3"] - result["branches"]["5x5"]


def fake_results(configs, seeds=3):
    """Constructed runs, ``seeds`` per row, two epochs each, numbers chosen by hand: row i, seed k has test top-1
    0.5 + i / 20 + k / 100."""
    results, tests = {}, {}
    for i, (row, config) in enumerate(configs.items()):
        for k in range(seeds):
            name = f"{row} (seed {k})"
            history = [{"epoch": e, "steps": 4 * e, "images_per_second": 100.0 * (i + 1) + e + k,
                        "val_top1": 0.1 * e + i / 100, "train_seconds": (10.0 + i) / 2} for e in (1, 2)]
            steps = [{"epoch": 1 + (s > 4), "step": s, "loss_main": 2.3 - 0.1 * s - i / 10} for s in range(1, 9)]
            results[name] = SimpleNamespace(config=config.replace(seed=k), history=history, steps=steps,
                                            model=SimpleNamespace(fc=SimpleNamespace(out_features=10)))
            tests[name] = {"top1": 0.5 + i / 20 + k / 100 + (0.02 if i == 5 and k == 2 else 0),
                           "top5": 0.9 + i / 100}
    return results, tests


def test_table_has_one_row_per_ablation_row_over_its_seeds(configs):
    from scipy import stats

    results, tests = fake_results(configs)
    table = beyond_chapter.ablation_table(results, tests)
    assert list(table.columns) == list(beyond_chapter.ABLATION_COLUMNS)
    assert list(table["run"]) == NAMES and list(table["seeds"]) == [3] * 6
    assert list(table["change"]) == [step.change for step in STEPS]
    row = table.set_index("run").loc["+ label smoothing"]
    values = [0.65, 0.66, 0.67]
    half = stats.t.ppf(0.975, 2) * np.std(values, ddof=1) / np.sqrt(3)
    assert row["top-1"] == pytest.approx(0.66) and row["top-5"] == pytest.approx(0.93)
    assert (row["top-1 low"], row["top-1 high"]) == pytest.approx((0.66 - half, 0.66 + half))
    # 5 points above its parent's mean, with the pooled two-sample interval over both rows' seeds (scipy's)
    parent = [0.60, 0.61, 0.62]
    expected = stats.ttest_ind(values, parent).confidence_interval()
    assert row["top-1 vs row before"] == pytest.approx(0.05)
    assert (row["vs row before low"], row["vs row before high"]) == pytest.approx((expected.low, expected.high))
    assert row["verdict"] == "supports"
    assert row["epochs"] == 2 and row["images"] == 8 * BASE.batch_size
    assert row["seconds"] == 3 * 13.0 and row["images/s"] == pytest.approx(402.5)
    cost = inference_costs(configs["+ label smoothing"], 10)
    assert (row["params"], row["multiply-adds"]) == (cost["params"], cost["macs"])
    assert math.isnan(table.loc[0, "top-1 vs row before"]) and table.loc[0, "verdict"] == ""
    # the last row is compared with the row it changes (+ batch norm): +20.7 points between the means, which
    # contradicts the claim that removing the heads lowers accuracy
    last = table.loc[5]
    assert last["top-1 vs row before"] == pytest.approx(0.62 / 3) and last["verdict"] == "contradicts"
    html = beyond_chapter.style_ablation(table).to_html()
    assert f"66.0 ({100 * (0.66 - half):.1f} to {100 * (0.66 + half):.1f})" in html and "+5.0 (+2.7 to +7.3)" in html
    assert STEPS[1].change not in html  # the page's list says what each row changes: the table fits the column


def test_figure_shows_the_first_seeds_losses_and_every_rows_interval(configs):
    results, tests = fake_results(configs)
    table = beyond_chapter.ablation_table(results, tests)
    steps, history = formatting.run_frames(results)
    fig = figures.ablation_curves(steps, history, table, chance=0.1)
    loss, cost = fig.axes
    assert [line.get_label() for line in loss.lines] == NAMES  # one line per row: its first seed
    assert len(cost.containers) == 6  # one error bar per row
    assert cost.containers[2].lines[0].get_xydata()[0] == pytest.approx(
        [table.loc[2, "multiply-adds"], table.loc[2, "top-1"]])
    low, high = cost.containers[2].lines[2][0].get_segments()[0][:, 1]
    assert (low, high) == pytest.approx((table.loc[2, "top-1 low"], table.loc[2, "top-1 high"]))
    assert [line.get_ydata()[0] for line in cost.lines if line.get_label() == "_chance"] == [0.1]
    matplotlib.pyplot.close(fig)


def test_ablation_runs_give_every_row_its_seeds():
    from reproduce.training.ablation import ablation_runs

    runs = ablation_runs(BASE.replace(seed=4), ["+ batch norm", "no auxiliary heads"], seeds=2)
    assert list(runs) == ["+ batch norm (seed 0)", "+ batch norm (seed 1)", "no auxiliary heads (seed 0)",
                          "no auxiliary heads (seed 1)"]
    assert runs["no auxiliary heads (seed 1)"].seed == 5 and not runs["no auxiliary heads (seed 1)"].aux_heads
    assert runs["+ batch norm (seed 1)"] == inception_v3_ablation(BASE)["+ batch norm"].replace(seed=5)


def test_a_tiny_ablation_trains_every_run(configs):
    from reproduce.training import train

    quick = {name: config.replace(epochs=1, steps_per_epoch=1) for name, config in configs.items()}
    for name, config in quick.items():
        result = train(config)
        assert len(result.history) == 1 and math.isfinite(result.history[0]["train_loss_main"]), name
        assert ("train_loss_aux1" in result.history[0]) == config.aux_heads


def test_a_subset_of_rows_keeps_the_changes_of_the_rows_above_it():
    base = TrainConfig(dataset="shapes", width=0.25, epochs=2, batch_norm=True)
    chosen = inception_v3_ablation(base, ["+ label smoothing", "GoogLeNet (paper)"])
    assert list(chosen) == ["GoogLeNet (paper)", "+ label smoothing"]  # the ablation's order
    assert chosen == {name: inception_v3_ablation(base)[name] for name in chosen}
    assert chosen["+ label smoothing"].batch_norm and chosen["+ label smoothing"].branch5x5 == "2x3x3"
    with pytest.raises(ValueError, match=r"rows=\['\+ batchnorm'\] must name some of the ablation's rows"):
        inception_v3_ablation(base, ["+ batchnorm"])


def test_the_training_chapters_runs_seeds_and_the_papers_optimizer_and_augmentation():
    from reproduce.training.ablation import sgd_runs, training_chapter_runs

    base = TrainConfig(dataset="shapes", width=0.25, optimizer="adamw", lr=2e-3, weight_decay=0.05, crop=False,
                       photometric=False, random_interpolation=False, epochs=1, seed=5)
    runs = training_chapter_runs(base, seeds=2, sgd_lrs=[0.01, 0.1])
    assert list(runs) == ["GoogLeNet (seed 0)", "GoogLeNet (seed 1)", "without auxiliary heads (seed 0)",
                          "without auxiliary heads (seed 1)", "SGD, lr 0.01 (seed 0)", "SGD, lr 0.1 (seed 0)",
                          "paper's augmentation (seed 0)"]
    differ = {name: {k for k, v in c.to_dict().items() if base.to_dict()[k] != v} for name, c in runs.items()}
    assert differ == {"GoogLeNet (seed 0)": set(), "GoogLeNet (seed 1)": {"seed"},
                      "without auxiliary heads (seed 0)": {"aux_heads"},
                      "without auxiliary heads (seed 1)": {"aux_heads", "seed"},
                      "SGD, lr 0.01 (seed 0)": {"optimizer", "lr", "weight_decay"},
                      "SGD, lr 0.1 (seed 0)": {"optimizer", "lr", "weight_decay"},
                      "paper's augmentation (seed 0)": {"crop", "photometric", "random_interpolation"}}
    sgd = runs["SGD, lr 0.01 (seed 0)"]
    assert (sgd.optimizer, sgd.lr, sgd.momentum, sgd.weight_decay, sgd.seed) == ("sgd", 0.01, 0.9, 2e-4, 5)
    assert runs["GoogLeNet (seed 1)"].seed == 6 and runs["GoogLeNet (seed 1)"].init_seed is None  # its own start
    more = sgd_runs(base, [0.1], seeds=3, first_seed=1)
    assert list(more) == ["SGD, lr 0.1 (seed 1)", "SGD, lr 0.1 (seed 2)"] and more["SGD, lr 0.1 (seed 2)"].seed == 7


def test_the_best_sgd_rate_is_the_one_whose_first_seed_validates_best():
    from types import SimpleNamespace

    from reproduce.training.ablation import best_sgd_lr, run_name

    results = {run_name(f"SGD, lr {lr:g}", 0): SimpleNamespace(history=[{"val_top1": 0.9}, {"val_top1": final}])
               for lr, final in ((0.01, 0.3), (0.03, 0.6), (0.1, 0.2))}
    assert best_sgd_lr(results, [0.01, 0.03, 0.1]) == 0.03


def test_the_training_chapter_trains_the_best_sgd_rate_with_every_other_seed(monkeypatch):
    """train_with_best_sgd trains the runs, picks the SGD rate whose first seed validates best, and trains only that
    rate's other seeds; with the paper's SGD as the base, or no rates, nothing more."""
    from reproduce.training import ablation, launch

    validation = {0.01: 0.2, 0.03: 0.6, 0.1: 0.4}
    trained = []

    def train_runs(runs, runs_dir):
        trained.append(list(runs))
        return ({name: SimpleNamespace(history=[{"val_top1": validation.get(c.lr, 0.5)}]) for name, c in runs.items()},
                {name: 1.0 for name in runs})

    monkeypatch.setattr(launch, "train_runs", train_runs)
    base = TrainConfig(optimizer="adamw", lr=2e-3)
    runs = ablation.training_chapter_runs(base, seeds=3, sgd_lrs=[0.01, 0.03, 0.1], augmentation=False)
    results, seconds, best = ablation.train_with_best_sgd(runs, base, [0.01, 0.03, 0.1], seeds=3)
    assert best == 0.03 and trained[0] == list(runs)
    assert trained[1] == ["SGD, lr 0.03 (seed 1)", "SGD, lr 0.03 (seed 2)"]
    assert list(results) == list(runs) + trained[1] and list(seconds) == list(results)
    for sgd_base, lrs in ((base.replace(optimizer="sgd"), [0.01]), (base, [])):
        trained.clear()
        _, _, best = ablation.train_with_best_sgd({"GoogLeNet (seed 0)": sgd_base}, sgd_base, lrs, seeds=3)
        assert best is None and len(trained) == 1
