"""The book's statistics on constructed data with known answers (reproduce.findings)."""

import numpy as np
import pytest
from scipy import stats

from reproduce import findings


def _members(accuracies, n, rng):
    """Per-image correctness (members, n) of networks that are right independently with the given accuracies."""
    return (rng.random((len(accuracies), n)) < np.asarray(accuracies)[:, None]).astype(float)


def _single(correct):
    """Table 3's "one model": each member alone, the mean over the members given."""
    return lambda members: correct[list(members)].mean(0)


def test_a_difference_that_exists_is_found():
    rng = np.random.default_rng(1)
    a, b = _members([0.80, 0.82, 0.78, 0.81, 0.80], 2000, rng), _members([0.70] * 5, 2000, rng)
    finding = findings.members_and_images(_single(a), _single(b), 5, claim="a beats b", quantity="a minus b",
                                          expected=+1)
    d = finding.difference
    assert d.estimate == pytest.approx(a.mean() - b.mean())
    assert d.low > 0 and d.contains(0.102) and finding.verdict == "supports" and d.members == 5 and d.n == 2000
    assert finding.p_value < 0.01
    assert "over 2000 images and 5 members" in finding.sentence()
    # the same data with the opposite claim
    assert findings.members_and_images(_single(a), _single(b), 5, claim="b beats a", quantity="a minus b",
                                       expected=-1).verdict == "contradicts"


def test_no_difference_is_inconclusive_at_the_nominal_rate():
    rng = np.random.default_rng(2)
    verdicts = []
    for _ in range(300):
        a, b = _members([0.7], 400, rng), _members([0.7], 400, rng)
        verdicts.append(findings.members_and_images(_single(a), _single(b), 1, claim="c", quantity="q",
                                                    expected=1).verdict)
    decided = 1 - verdicts.count("inconclusive") / len(verdicts)
    # 95% intervals: 5% of null comparisons exclude zero; 300 draws put the rate within about 2.5 points of it
    assert 0.015 <= decided <= 0.10, decided


def test_one_member_is_held_fixed_and_its_interval_is_the_normal_one_over_the_images():
    rng = np.random.default_rng(3)
    correct = _members([0.6], 3000, rng)
    interval = findings.over_members_and_images(_single(correct), 1)
    low, high = stats.norm.interval(0.95, loc=correct.mean(), scale=stats.sem(correct[0]))
    assert (interval.low, interval.high) == pytest.approx((low, high)) and interval.members is None


def test_the_mean_over_members_takes_students_t_over_the_members():
    # every member gets the same share of every image right: no spread over the images, only over the members
    shares = np.array([0.71, 0.74, 0.69, 0.80])
    correct = np.repeat(shares[:, None], 50, axis=1)
    interval = findings.over_members_and_images(_single(correct), 4)
    low, high = stats.t.interval(0.95, 3, loc=shares.mean(), scale=stats.sem(shares))
    assert (interval.estimate, interval.low, interval.high) == pytest.approx((shares.mean(), low, high))
    assert interval.members == 4


def test_the_p_value_and_the_interval_agree():
    rng = np.random.default_rng(5)
    for shift in (0.0, 0.02, 0.05):
        a, b = _members([0.75 + shift] * 4, 500, rng), _members([0.75] * 4, 500, rng)
        finding = findings.members_and_images(_single(a), _single(b), 4, claim="c", quantity="q", expected=1)
        assert (finding.p_value < 0.05) == (finding.verdict != "inconclusive"), (shift, finding)


def test_an_interval_over_members_covers_another_training_of_the_members():
    # a rebuild trains the members anew: their accuracies are drawn again around 0.9 (2 points apart, as networks
    # trained briefly are). The interval over members and images covers the expected accuracy at about the nominal
    # rate; one over the images alone, the members held fixed, misses it most of the time.
    rng = np.random.default_rng(6)
    covered, images_only = [], []
    for _ in range(300):
        correct = _members(np.clip(rng.normal(0.9, 0.02, 7), 0, 1), 2000, rng)
        covered.append(findings.over_members_and_images(_single(correct), 7).contains(0.9))
        fixed = correct.mean(0)  # the members' mean per image, as if one network
        images_only.append(findings.over_members_and_images(lambda _: fixed, 1).contains(0.9))
    assert 0.90 <= np.mean(covered) <= 0.995, np.mean(covered)
    assert np.mean(images_only) < 0.75, np.mean(images_only)


def test_an_ensembles_interval_errs_wide():
    # members: noisy scores of 5 classes around a shared image difficulty; the ensemble of 7 is more accurate than
    # any one. Over many trainings, the ensemble's interval covers its expected accuracy at least at the nominal rate.
    rng = np.random.default_rng(7)
    n, classes = 400, 5
    signal = rng.normal(0.6, 0.6, n)  # how clearly each test image shows its class (the same in every training)
    targets = np.zeros(n, dtype=int)

    def ensemble_of(scores):
        return lambda members: (scores[list(members)].mean(0).argmax(1) == targets).astype(float)

    def train():
        scores = rng.normal(0, 1, (7, n, classes))
        scores[:, :, 0] += signal + rng.normal(0, 0.3, (7, 1))  # each member also a little better or worse
        return scores

    expected = np.mean([ensemble_of(train())(range(7)).mean() for _ in range(400)])
    covered = [findings.over_members_and_images(ensemble_of(train()), 7).contains(expected) for _ in range(200)]
    assert np.mean(covered) >= 0.93, np.mean(covered)


def test_members_and_images_refuses_no_members_and_a_single_image():
    with pytest.raises(ValueError, match="members"):
        findings.over_members_and_images(lambda m: np.ones(3), 0)
    with pytest.raises(ValueError, match="2 images"):
        findings.over_members_and_images(lambda m: np.ones(1), 3)
    with pytest.raises(ValueError, match="expected"):
        findings.members_and_images(lambda m: np.ones(3), lambda m: np.ones(3), 2, claim="c", quantity="q",
                                    expected=0)


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
    # d's estimates differ by 0.06; their difference's half-width is hypot(0.03, 0.02) = 0.036
    assert [row["consistent"] for row in rows] == [True, False]
    near = findings.compare_builds([_finding(0.03, 0.0, 0.06)], [_finding(0.07, 0.04, 0.10)])
    assert not near[0]["agree"] and near[0]["consistent"]  # 0.04 apart, half-width hypot(0.03, 0.03) = 0.042
    opposed = findings.compare_builds([_finding(0.02, 0.001, 0.05)], [_finding(-0.002, -0.004, -0.0001)])
    assert opposed[0]["a verdict"] == "supports" and opposed[0]["b verdict"] == "contradicts"
    assert not opposed[0]["agree"]
    unmatched = findings.compare_builds([_finding(0.05, 0.01, 0.09)], [_finding(0.05, 0.01, 0.09, claim="e")])
    assert [row["agree"] for row in unmatched] == [False, False] and unmatched[1]["b"]
