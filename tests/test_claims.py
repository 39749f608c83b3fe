"""The chapters' claims (reproduce.book.claims) and the tables and figures built from them, on constructed results."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from reproduce.book import claims, figures
from reproduce.book.chapters import beyond as beyond_chapter

from reproduce.book.chapters import evaluation as evaluation_chapter

from reproduce.book.chapters import training as training_chapter
from reproduce.evaluate.predict import CropProbabilities  # noqa: E402
from reproduce.evaluate.table3 import outcomes, table3  # noqa: E402
from scipy import stats  # noqa: E402
from reproduce.training import TrainConfig  # noqa: E402


TRAINING = {"heads, Polyak": [0.80, 0.82, 0.84], "heads, raw": [0.70, 0.715, 0.72],
            "no heads, Polyak": [0.81, 0.80, 0.86]}


def _pooled(a, b):
    """scipy's pooled two-sample t of a - b: its 95% interval and p-value."""
    test = stats.ttest_ind(a, b)
    return tuple(test.confidence_interval(0.95)), test.pvalue


def test_training_claims_compare_the_configurations_as_two_samples_over_seeds():
    heads, polyak = claims.training(TRAINING)
    for finding, (a, b) in ((heads, ("heads, Polyak", "no heads, Polyak")), (polyak, ("heads, Polyak", "heads, raw"))):
        (low, high), p = _pooled(TRAINING[a], TRAINING[b])
        d = finding.difference
        assert d.estimate == pytest.approx(np.mean(TRAINING[a]) - np.mean(TRAINING[b]))
        assert (d.low, d.high, finding.p_value) == pytest.approx((low, high, p)) and d.over() == "3 + 3 seeds"
    assert heads.verdict == "inconclusive" and heads.expected == 1
    assert polyak.verdict == "supports"


def test_the_central_claim_compares_googlenet_with_each_network_at_its_cost_as_two_samples():
    top1 = {"GoogLeNet": [0.74, 0.76, 0.75, 0.77], "plain 3x3 stack": [0.66, 0.70, 0.68],
            "naive modules (Figure 2a)": [0.75, 0.73, 0.76, 0.74]}
    plain, naive = claims.central(top1)
    for finding, name in ((plain, "plain 3x3 stack"), (naive, "naive modules (Figure 2a)")):
        (low, high), p = _pooled(top1["GoogLeNet"], top1[name])
        assert (finding.difference.low, finding.difference.high, finding.p_value) == pytest.approx((low, high, p))
        assert finding.expected == 1 and name in finding.quantity
    assert plain.verdict == "supports" and naive.verdict == "inconclusive"
    assert plain.difference.over() == "4 + 3 seeds"
    assert claims.central({"GoogLeNet": [0.7, 0.8]}) == []


@pytest.mark.parametrize("sgd, use", [([0.795, 0.805, 0.80], True), ([0.60, 0.62, 0.61], False),
                                      ([0.79], False)])
def test_the_main_run_uses_sgd_only_when_its_whole_interval_is_within_3_points(sgd, use):
    adamw = [0.80, 0.81, 0.80][:len(sgd)]
    choice = claims.optimizer(sgd, adamw)
    assert choice["use_sgd"] is use
    assert choice["difference"].estimate == pytest.approx(np.mean(sgd) - np.mean(adamw))
    if len(sgd) > 1:
        low, high = _pooled(sgd, adamw)[0]
        assert (choice["difference"].low, choice["difference"].high) == pytest.approx((low, high))
        assert bool(low >= -0.03) is use
    sentence = training_chapter.optimizer_sentence(choice, 0.03, TrainConfig(optimizer="adamw", lr=2e-3))
    if use:
        assert "could use the paper's optimizer" in sentence
    elif len(sgd) > 1:
        assert "keeps adamw" in sentence and "measured reason" in sentence
    else:
        assert "no decision" in sentence


def test_ablation_claims_pair_each_row_with_its_parent_and_skip_rows_not_trained():
    top1 = {"GoogLeNet (paper)": [0.1, 0.12, 0.09], "+ batch norm": [0.7, 0.75, 0.72],
            "+ label smoothing": [0.7, 0.7, 0.7]}  # its parent, "+ factorized 5x5", was not trained
    found = claims.ablation(top1)
    assert [f.claim for f in found] == [claims.ABLATION_CLAIMS["+ batch norm"][0]]
    assert found[0].difference.estimate == pytest.approx(0.72333 - 0.10333, abs=1e-5)
    assert found[0].verdict == "supports"
    (low, high), p = _pooled([0.7, 0.75, 0.72], [0.1, 0.12, 0.09])
    assert (found[0].difference.low, found[0].difference.high, found[0].p_value) == pytest.approx((low, high, p))
    assert claims.ABLATION_CLAIMS["no auxiliary heads"][1] == -1  # removing the heads is predicted to cost accuracy


def test_table3_claims_pair_each_row_with_one_model_one_crop_on_the_same_images_and_members():
    # three members, four images, two classes (target 0 on images 0, 1 and 3, 1 on image 2)
    targets = torch.tensor([0, 0, 1, 0])
    zero, one_, zero_weakly, one_weakly = [0.9, 0.1], [0.1, 0.9], [0.6, 0.4], [0.4, 0.6]  # the class each favours
    one = torch.tensor([[zero, zero, one_, zero],  # member 0: right everywhere
                        [one_, zero, one_, zero],  # member 1: wrong on image 0
                        [one_weakly, one_weakly, zero_weakly, zero_weakly]])  # member 2: wrong on images 0 to 2
    ten = one.clone()
    ten[2, 1] = torch.tensor(zero_weakly)  # ten crops put member 2 right on image 1
    probabilities = {1: CropProbabilities(one, one, 1), 10: CropProbabilities(ten, ten, 10)}
    rows = outcomes(probabilities, targets)
    assert list(rows) == [(1, 1), (1, 10), (3, 1), (3, 10)]
    # one model: each image's share of members right; three models: whether their ensemble (mean) is right
    assert rows[(1, 1)]([0, 1, 2]).tolist() == pytest.approx([1 / 3, 2 / 3, 2 / 3, 1])
    assert rows[(3, 1)]([0, 1, 2]).tolist() == [0, 1, 1, 1]
    assert rows[(3, 1)]([0, 2]).tolist() == [1, 1, 1, 1]  # the ensemble of the members it is given
    assert rows[(1, 10)]([0, 1, 2]).tolist() == pytest.approx([1 / 3, 1, 2 / 3, 1])
    assert rows[(1, 1)]([1]).tolist() == [0, 1, 1, 1]
    # the rows' means are the table's accuracies
    errors = table3(probabilities, targets).set_index(["models", "crops"])["top1_error"]
    for key, outcome in rows.items():
        assert errors[key] == pytest.approx(100 * (1 - outcome([0, 1, 2]).mean()))
    found = claims.table3(rows, 3)
    assert [f.claim for f in found] == ["Do 10 crops beat one crop (Section 7)",
                                        "Does an ensemble of 3 beat one model (Section 7)",
                                        "Do 3 models with 10 crops each beat one model with one crop (Section 7)"]
    ensemble = found[1]
    assert ensemble.difference.estimate == pytest.approx(0.75 - (1 / 3 + 2 / 3 + 2 / 3 + 1) / 4)
    # its standard error by hand: per image, the ensemble's correctness minus the members' share right, -1/3, 1/3,
    # 1/3, 0 (mean 1/12); and with each member left out, the ensemble of the other two against their mean share:
    # without member 0, 3/4 - 1/2; without member 1, 1 - 5/8; without member 2, 1 - 7/8 (image 0's tie between
    # members 0 and 1 goes to class 0, the right one)
    assert rows[(3, 1)]([1, 2]).tolist() == [0, 1, 1, 1] and rows[(3, 1)]([0, 1]).tolist() == [1, 1, 1, 1]
    images_variance = np.var([-1 / 3, 1 / 3, 1 / 3, 0], ddof=1) / 4
    left_out = np.array([1 / 4, 3 / 8, 1 / 8])
    members_variance = 2 / 3 * ((left_out - left_out.mean()) ** 2).sum()
    d = ensemble.difference
    assert d.error == pytest.approx(np.sqrt(images_variance + members_variance))
    assert d.between_builds_error == pytest.approx(np.sqrt(members_variance)) and d.freedom == 2
    low = 1 / 12 - stats.t.ppf(0.975, 2) * np.sqrt(images_variance + members_variance)
    assert (d.low, d.high) == pytest.approx((low, 1.0))  # the upper end stops at +1
    assert ensemble.difference.members == 3 and ensemble.difference.n == 4
    table = evaluation_chapter.table3_intervals(rows, 3, found)
    assert list(table["test images"]) == [4] * 4
    assert table.loc[0, "change of error, points"] == ""
    assert table.loc[2, "change of error, points"].startswith(f"{-100 * ensemble.difference.estimate:+.1f} (95% CI ")
    assert table.loc[0, "top-1 error %"].startswith(f"{100 - 100 * (8 / 3) / 4:.1f} (95% CI ")
    values = evaluation_chapter.table3_report_values(rows, 3, found)
    assert values["ensemble_change"] == table.loc[2, "change of error, points"]
    assert values["crops_change"] == table.loc[1, "change of error, points"]
    assert values["best_error"] == table.loc[3, "top-1 error %"]


def test_crop_probabilities_select_images():
    mean = torch.arange(2 * 5 * 3, dtype=torch.float32).reshape(2, 5, 3)
    p = CropProbabilities(mean, -mean, 10)
    chosen = p.images([0, 4])
    assert torch.equal(chosen.mean, mean[:, [0, 4]]) and torch.equal(chosen.max, -mean[:, [0, 4]])
    assert chosen.crops == 10 and chosen.models == 2


def test_seed_summary_means_and_intervals_per_configuration():
    scores = pd.DataFrame([{"run": f"GoogLeNet (seed {k})", "seed": k, "weights": "Polyak", "top1": v, "top5": 1.0}
                           for k, v in enumerate([0.7, 0.8, 0.9])] +
                          [{"run": "paper's augmentation (seed 0)", "seed": 0, "weights": "Polyak", "top1": 0.5,
                            "top5": 1.0}])
    table = training_chapter.seed_summary(scores, 2000)
    assert list(table["configuration"]) == ["GoogLeNet", "paper's augmentation"]
    assert list(table["seeds"]) == [3, 1]
    assert table.loc[0, "test top-1 % (95% CI)"].startswith("80.0 (95% CI 55.2 to 100.0)")
    assert table.loc[1, "test top-1 % (95% CI)"] == "50.0"  # one seed: its value, no interval


def test_learning_sentence_names_the_rows_below_the_threshold():
    table = pd.DataFrame({"run": ["a", "b", "c"], "seeds": [3, 3, 1], "top-1": [0.8, 0.3, 0.11],
                          "top-1 low": [0.75, 0.2, 0.11], "top-1 high": [0.85, 0.4, 0.11]})
    text = beyond_chapter.learning_sentence(table, 0.1)
    assert text.startswith("Chance is 10%. 1 of the 3 rows reach 50%")
    assert "b, 30.0% (95% CI 20.0 to 40.0)" in text and "c, 11.0%;" not in text and "c, 11.0%" in text
    assert "c is within 5 points of chance" in text


def test_paper_changes_are_computed_from_table_3():
    text = evaluation_chapter.paper_table3_changes()
    assert "7 models x 144 crops: -3.40" in text and "1 model x 10 crops: -0.92" in text


def test_findings_figure_draws_each_interval_and_the_verdicts():
    found = claims.training(TRAINING)
    fig = figures.findings(found)
    ax = fig.axes[0]
    assert len(ax.containers) == 2
    x, y = ax.containers[1].lines[0].get_xydata()[0]
    assert (x, y) == pytest.approx((100 * found[1].difference.estimate, 1))
    low, high = ax.containers[1].lines[2][0].get_segments()[0][:, 0]
    assert (low, high) == pytest.approx((100 * found[1].difference.low, 100 * found[1].difference.high))
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"inconclusive", "supports"}
    matplotlib.pyplot.close(fig)
    empty = figures.findings([])
    assert "no comparison" in empty.axes[0].texts[0].get_text()
    matplotlib.pyplot.close(empty)


def _convergence_results(values):
    """A constructed convergence file: ``values`` maps a group (its changes to the book's configuration) to its
    top-1 per seed."""
    book = {"optimizer": "adamw", "lr": 2e-3, "epochs": 2, "batch_size": 32, "batch_norm": True, "momentum": 0.9,
            "weight_decay": 0.05}
    runs = [{"group": str(changes), "seed": k, "polyak_val_top1": top1, "options": {**book, **dict(changes)}}
            for changes, seeds in values.items() for k, top1 in enumerate(seeds)]
    return {"book": book, "train_images": 4800, "runs": runs}


SGD = (("optimizer", "sgd"), ("momentum", 0.9), ("weight_decay", 2e-4))


def test_the_convergence_sentences_state_each_group_and_the_optimizer_rule():
    values = {(("epochs", 2),): [0.7, 0.8, 0.9], (("epochs", 3),): [0.9, 0.95, 1.0], (("epochs", 4),): [0.99, 1.0],
              (("epochs", 8),): [0.99, 1.0, 1.0],
              (*SGD, ("epochs", 4), ("lr", 0.01)): [0.2, 0.3], (*SGD, ("epochs", 4), ("lr", 0.1)): [0.1, 0.1],
              (*SGD, ("epochs", 8), ("lr", 0.01)): [0.5, 0.6], (*SGD, ("epochs", 8), ("lr", 0.03)): [0.6, 0.7],
              (("batch_norm", False), ("epochs", 4)): [0.2, 0.3],
              (("batch_norm", False), ("epochs", 3), ("lr", 5e-4)): [0.7, 0.8],
              (("batch_norm", False), ("epochs", 4), ("lr", 5e-4)): [0.9, 0.92]}
    table, text = training_chapter.convergence(_convergence_results(values))
    assert len(table) == len(values) and set(table["seeds"]) == {2, 3}
    row = table[(table["configuration"] == "SGD lr 0.03") & (table["steps"] == 1200)].iloc[0]
    assert (row["val top-1, mean"], row["lowest"], row["highest"]) == pytest.approx((0.65, 0.6, 0.7))
    assert "no batch norm (the paper's network)" in set(table["configuration"].str.split(", ").sum())
    assert text["steps"] == ("AdamW at the book's settings reaches a validation top-1 of 80.0% (runs 70.0 to 90.0) "
                             "after 300 steps, 95.0% (runs 90.0 to 100.0) after 450 steps, 99.5% (runs 99.0 to "
                             "100.0) after 600 steps, 99.7% (runs 99.0 to 100.0) after 1,200 steps.")
    assert ("after 600 steps ends at 25.0% (runs 20.0 to 30.0) with lr 0.01; 10.0% (runs 10.0 to 10.0) with lr 0.1;"
            in text["sgd"])
    # the best rate over 1,200 steps is 0.03 (0.6, 0.7), against every AdamW seed (0.99, 1.0, 1.0), as two samples
    assert "Its best setting, lr 0.03 over 1,200 steps, ends 34.7 points below AdamW" in text["sgd"]
    low, high = _pooled([0.6, 0.7], [0.99, 1.0, 1.0])[0]
    assert f"(95% CI {100 * low:+.1f} to {100 * high:+.1f}, " in text["sgd"]
    assert "; each of its runs ends below every AdamW run. The interval does not lie above -3 points" in text["sgd"]
    assert text["sgd"].endswith("so the main run keeps AdamW.")
    assert "at AdamW's 2e-3, ends at 25.0% (runs 20.0 to 30.0) after 600 steps" in text["no_bn"]
    close = dict(values) | {(*SGD, ("epochs", 8), ("lr", 0.03)): [0.99, 0.995]}  # the whole interval within 3 points
    assert training_chapter.convergence(_convergence_results(close))[1]["sgd"].endswith("follow the paper's optimizer, so it "
                                                                                "does.")


def test_the_committed_convergence_results_are_the_benchmarks_groups():
    import json
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "benchmarks"))
    try:
        import convergence
    finally:
        sys.path.remove(str(root / "benchmarks"))
    results = json.loads((root / "benchmarks" / "results" / "convergence.json").read_text())
    assert results["book"] == convergence.BOOK
    expected = {(sweep, group, seed) for sweep, groups in convergence.SWEEPS.items() for group, seeds, _ in groups
                for seed in seeds}
    assert {(run["sweep"], run["group"], run["seed"]) for run in results["runs"]} == expected
    for run in results["runs"]:
        assert run["options"] == convergence.options(run["sweep"], run["group"])
    table, text = training_chapter.convergence(results)  # every sentence finds its groups
    assert set(text) == {"steps", "sgd", "no_bn"}


def test_table3_findings_together_keep_every_image_first_and_add_the_subsets_new_rows():
    from reproduce.analysis.findings import Finding, Interval

    def finding(quantity):
        return Finding("c", quantity, Interval(0.01, 0.0, 0.02, 100, "images"), 1, "m")

    every, subset = [finding("1 x 10"), finding("7 x 1")], [finding("1 x 10"), finding("1 x 144")]
    assert [f.quantity for f in claims.table3_together(every, subset)] == ["1 x 10", "7 x 1", "1 x 144"]


def test_the_optimizer_paragraph_compares_the_best_sgd_rate_seed_by_seed_or_says_what_was_run():
    """training_chapter.optimizer_text takes each configuration's Polyak test top-1 per seed from the scores (the raw
    rows and
    the other rates are not the comparison) and says what was run where SGD was not trained with every seed."""
    rows = []
    for seed, (sgd, adamw) in enumerate([(0.795, 0.80), (0.805, 0.81), (0.80, 0.80)]):
        rows += [{"run": f"SGD, lr 0.03 (seed {seed})", "seed": seed, "weights": "Polyak", "top1": sgd},
                 {"run": f"SGD, lr 0.03 (seed {seed})", "seed": seed, "weights": "raw", "top1": 0.1},
                 {"run": f"GoogLeNet (seed {seed})", "seed": seed, "weights": "Polyak", "top1": adamw}]
    rows.append({"run": "SGD, lr 0.01 (seed 0)", "seed": 0, "weights": "Polyak", "top1": 0.1})
    scores = pd.DataFrame(rows)
    base = TrainConfig(optimizer="adamw", lr=2e-3)
    expected = training_chapter.optimizer_sentence(claims.optimizer([0.795, 0.805, 0.80], [0.80, 0.81, 0.80]), 0.03, base)
    assert training_chapter.optimizer_text(scores, base, 0.03) == expected
    assert "could use the paper's optimizer" in expected
    assert training_chapter.optimizer_text(scores, base.replace(optimizer="sgd"), None) == (
        "The main run uses the paper's SGD; no other optimizer was run.")
    assert training_chapter.optimizer_text(scores, base, None) == (
        "The main run uses adamw; this build trains no SGD (`sgd_lrs` is empty).")


def test_the_convergence_caveat_is_the_mean_gain_over_the_second_half_of_the_epochs():
    polyak = [{"val_top1": 0.1, "polyak_val_top1": v} for v in (0.50, 0.60, 0.80, 0.85)]  # gain 0.25 from epoch 2
    raw_only = [{"val_top1": v} for v in (0.40, 0.70, 0.90, 0.95)]  # no Polyak copy: raw weights, gain 0.25
    assert claims.convergence_caveat([polyak, raw_only]) == (
        "validation top-1 still changed by +25.0 points on average over the last 2 of 4 epochs")
    three = [{"val_top1": v} for v in (0.90, 0.95, 0.97)]  # 3 epochs: the last two, from the first epoch's end
    assert claims.convergence_caveat([three]) == (
        "validation top-1 still changed by +7.0 points on average over the last 2 of 3 epochs; it ends at 97.0%, "
        "near the ceiling")
    assert claims.convergence_caveat([[{"val_top1": 0.5}]]) is None


def test_table3_caveats_name_crops_training_never_showed_square_images_and_a_ceiling_only_where_they_hold():
    both = claims.table3_caveats(crop=False, square=True, one_model_top1=0.95)
    assert "whole images" in both["crops"] and "square" in both["crops"] and "95.0%" in both["ceiling"]
    assert claims.table3_caveats(crop=True, square=False, one_model_top1=0.75) == {"crops": None, "ceiling": None}
    assert claims.table3_caveats(crop=True, square=False, one_model_top1=claims.CEILING)["ceiling"] is None
    # the crops' caveat on every row of more than one crop, the ceiling on every row
    rows = {(1, 1): lambda m: np.ones(4) * 0.5, (1, 10): lambda m: np.ones(4) * 0.6,
            (3, 1): lambda m: np.ones(4) * 0.7, (3, 10): lambda m: np.ones(4) * 0.8}
    found = claims.table3(rows, 3, network="the net", caveats={"crops": "C", "ceiling": "L"})
    assert [(f.network, f.caveat) for f in found] == [("the net", "C; L"), ("the net", "L"), ("the net", "C; L")]
    assert [f.caveat for f in claims.table3(rows, 3, caveats={"crops": "C", "ceiling": None})] == ["C", None, "C"]


def test_every_claim_names_the_network_it_was_measured_on_and_keeps_it_through_json():
    from reproduce.analysis.findings import findings_json, from_dict
    import json

    found = [*claims.training(TRAINING, network="N", caveat="K"),
             *claims.central({"GoogLeNet": [0.7, 0.8], "plain 3x3 stack": [0.5, 0.6]}, network="N", caveat="K"),
             *claims.ablation({"GoogLeNet (paper)": [0.1, 0.2], "+ batch norm": [0.7, 0.8]},
                              networks={"+ batch norm": "N"}, caveat="K")]
    assert len(found) == 4 and {(f.network, f.caveat) for f in found} == {("N", "K")}
    again = [from_dict(values) for values in json.loads(findings_json(found))]
    assert again == found and again[0].row()["network"] == "N" and again[0].row()["caveat"] == "K"
    old = {k: v for k, v in found[0].to_dict().items() if k not in ("network", "caveat")}  # results of earlier builds
    assert from_dict(old).network is None
