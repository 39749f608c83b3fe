"""The book's statistics on constructed data with known answers (reproduce.findings)."""

import numpy as np
import pytest
from scipy import stats

from reproduce import findings


def _paired(n, accuracy_a, accuracy_b, rng):
    """Per-image correctness of two classifiers that disagree independently: a is right with accuracy_a, b with
    accuracy_b."""
    return (rng.random(n) < accuracy_a).astype(int), (rng.random(n) < accuracy_b).astype(int)


def test_a_difference_that_exists_is_found():
    rng = np.random.default_rng(1)
    a, b = _paired(2000, 0.80, 0.70, rng)
    finding = findings.paired_images(a, b, claim="a beats b", quantity="a minus b", expected=+1)
    d = finding.difference
    assert d.estimate == pytest.approx(a.mean() - b.mean())
    assert d.low > 0 and d.contains(0.10) and finding.verdict == "supports"
    assert finding.p_value < 1e-6
    # the same data with the opposite claim
    assert findings.paired_images(a, b, claim="b beats a", quantity="a minus b", expected=-1).verdict == "contradicts"


def test_no_difference_is_inconclusive_at_the_nominal_rate():
    rng = np.random.default_rng(2)
    verdicts = [findings.paired_images(*_paired(400, 0.7, 0.7, rng), claim="c", quantity="q", expected=1).verdict
                for _ in range(300)]
    decided = 1 - verdicts.count("inconclusive") / len(verdicts)
    # 95% intervals: 5% of null comparisons exclude zero; 300 draws put the rate within about 2.5 points of it
    assert 0.015 <= decided <= 0.10, decided


def test_bootstrap_interval_matches_the_normal_approximation_of_paired_proportions():
    rng = np.random.default_rng(3)
    a, b = _paired(3000, 0.6, 0.55, rng)
    d = findings.paired_images(a, b, claim="c", quantity="q", expected=1).difference
    only_a, only_b, n = ((a == 1) & (b == 0)).sum(), ((a == 0) & (b == 1)).sum(), len(a)
    se = np.sqrt(only_a + only_b - (only_a - only_b) ** 2 / n) / n  # the paired difference's standard error
    assert d.high - d.low == pytest.approx(2 * 1.96 * se, rel=0.06)


def test_mcnemar_p_value_is_the_exact_binomial_test_of_the_discordant_images():
    a = [1] * 30 + [0] * 12 + [1] * 50 + [0] * 8
    b = [0] * 30 + [1] * 12 + [1] * 50 + [0] * 8
    finding = findings.paired_images(a, b, claim="c", quantity="q", expected=1)
    assert finding.p_value == pytest.approx(stats.binomtest(30, 42).pvalue)
    assert finding.difference.estimate == pytest.approx(18 / 100)


def test_identical_classifiers_give_a_point_interval():
    same = [1, 0, 1, 1]
    finding = findings.paired_images(same, same, claim="c", quantity="q", expected=1)
    assert (finding.difference.low, finding.difference.high) == (0, 0) and finding.verdict == "inconclusive"


def test_paired_images_refuses_different_images_and_non_binary_values():
    with pytest.raises(ValueError, match="same images"):
        findings.paired_images([1, 0], [1, 0, 1], claim="c", quantity="q", expected=1)
    with pytest.raises(ValueError, match="0s and 1s"):
        findings.paired_images([1, 0.5], [1, 0], claim="c", quantity="q", expected=1)
    with pytest.raises(ValueError, match="expected"):
        findings.paired_images([1, 0], [1, 0], claim="c", quantity="q", expected=0)


def test_seed_interval_is_students_t():
    values = [0.71, 0.74, 0.69]
    interval = findings.mean_over_seeds(values)
    half = stats.t.ppf(0.975, 2) * np.std(values, ddof=1) / np.sqrt(3)
    assert interval.estimate == pytest.approx(np.mean(values))
    assert (interval.low, interval.high) == pytest.approx((np.mean(values) - half, np.mean(values) + half))
    assert interval.unit == "seeds" and interval.n == 3


def test_paired_seeds_differences_and_verdicts():
    found = findings.paired_seeds([0.80, 0.82, 0.81], [0.70, 0.71, 0.69], claim="c", quantity="q", expected=1)
    assert found.difference.estimate == pytest.approx(np.mean([0.10, 0.11, 0.12]))
    assert found.verdict == "supports"
    assert found.p_value == pytest.approx(stats.ttest_1samp([0.10, 0.11, 0.12], 0).pvalue)
    mixed = findings.paired_seeds([0.80, 0.70, 0.75], [0.75, 0.74, 0.76], claim="c", quantity="q", expected=1)
    assert mixed.verdict == "inconclusive"


def test_intervals_over_seeds_stop_at_what_the_quantity_can_take():
    accuracies = [0.99, 0.90, 0.97]  # three seeds: t's half-width (about 11 points) would pass 100%
    half = stats.t.ppf(0.975, 2) * np.std(accuracies, ddof=1) / np.sqrt(3)
    interval = findings.mean_over_seeds(accuracies)
    assert interval.estimate == pytest.approx(np.mean(accuracies)) and np.mean(accuracies) + half > 1
    assert (interval.low, interval.high) == pytest.approx((np.mean(accuracies) - half, 1.0))
    wide = findings.paired_seeds([0.95, 0.10, 0.90], [0.10, 0.90, 0.10], claim="c", quantity="q", expected=1)
    assert (wide.difference.low, wide.difference.high) == (-1.0, 1.0)  # a difference of accuracies: -1 to 1


def test_one_seed_is_never_a_verdict():
    finding = findings.paired_seeds([0.9], [0.5], claim="Do heads help", quantity="with minus without",
                                    expected=1)
    assert finding.verdict == "one sample" and finding.p_value is None
    assert "no verdict" in finding.sentence() and "supported" not in finding.sentence()


def test_sentences_state_a_direction_only_where_the_interval_excludes_zero():
    def finding(low, high):
        return findings.Finding("Does a help", "a minus b", findings.Interval((low + high) / 2, low, high, 500,
                                                                             "images"), +1, "m")
    assert finding(0.01, 0.05).sentence().endswith("supported.")
    assert finding(-0.05, -0.01).sentence().endswith("contradicted.")
    assert finding(-0.01, 0.05).sentence().endswith("inconclusive at this budget.")
    assert "+3.0 points (95% CI +1.0 to +5.0) over 500 images" in finding(0.01, 0.05).sentence()


def test_accuracy_is_wilsons_interval():
    interval = findings.accuracy([1] * 80 + [0] * 20)
    ci = stats.binomtest(80, 100).proportion_ci(method="wilson")
    assert (interval.estimate, interval.low, interval.high) == pytest.approx((0.8, ci.low, ci.high))


def test_images_for_half_width():
    # 20% discordant images need 1.96^2 * 0.2 / 0.02^2 = 1921 images for +-2 points
    assert findings.images_for_half_width(0.2) == 1921
    rng = np.random.default_rng(4)
    n = findings.images_for_half_width(0.2)
    a, b = _paired(n, 0.8, 0.8, rng)  # independent errors: discordant share 2 * 0.8 * 0.2 = 0.32 > 0.2
    d = findings.paired_images(a, b, claim="c", quantity="q", expected=1).difference
    assert (d.high - d.low) / 2 == pytest.approx(1.96 * np.sqrt(0.32 / n), rel=0.1)


def _finding(estimate, low, high, claim="c", n=3, unit="seeds"):
    return findings.Finding(claim, "q", findings.Interval(estimate, low, high, n, unit), +1, "m")


def test_findings_round_trip_through_json():
    import json

    found = [findings.paired_seeds([0.8, 0.82, 0.81], [0.7, 0.71, 0.69], claim="c", quantity="q", expected=1)]
    text = findings.findings_json(found)
    assert [findings.from_dict(v) for v in json.loads(text)] == found
    assert json.loads(text)[0]["verdict"] == "supports"


def test_two_builds_agree_when_neither_opposes_and_each_estimate_is_inside_the_others_interval():
    rows = findings.compare_builds([_finding(0.05, 0.01, 0.09), _finding(0.02, -0.01, 0.05, claim="d")],
                                   [_finding(0.07, 0.03, 0.11), _finding(0.08, 0.06, 0.10, claim="d")])
    assert [row["agree"] for row in rows] == [True, False]  # d: 0.08 lies outside the first build's interval
    opposed = findings.compare_builds([_finding(0.02, 0.001, 0.05)], [_finding(-0.002, -0.004, -0.0001)])
    assert opposed[0]["a verdict"] == "supports" and opposed[0]["b verdict"] == "contradicts"
    assert not opposed[0]["agree"]
    unmatched = findings.compare_builds([_finding(0.05, 0.01, 0.09)], [_finding(0.05, 0.01, 0.09, claim="e")])
    assert [row["agree"] for row in unmatched] == [False, False] and unmatched[1]["b"]
