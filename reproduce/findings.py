"""Findings: a claim checked by a measured difference, its 95% interval and the verdict the interval allows.

The chapters do not write "helps" or "lowers" themselves; they build a :class:`Finding` from their measurements and
print its :meth:`~Finding.sentence`, which states a direction only where the interval excludes zero:

- :func:`paired_images` compares two classifiers on the *same* test images (per-image correctness, 0 or 1), with a
  paired bootstrap interval of the difference in accuracy (``scipy.stats.bootstrap``, a fixed random state, so the
  interval is the same on every machine) and McNemar's exact test on the discordant images;
- :func:`paired_seeds` compares two training configurations over seeds (run ``k`` of one against run ``k`` of the
  other), with a Student-t interval of the mean difference; one seed is one sample, reported without a verdict;
- :func:`mean_over_seeds` and :func:`accuracy` give the interval of one quantity.

A verdict is ``"supports"`` when the whole interval lies on the side the claim predicts, ``"contradicts"`` when it
lies on the other side, ``"inconclusive"`` when it contains zero, and ``"one sample"`` for a single seed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
from scipy import stats

#: The confidence level of every interval in the book.
LEVEL = 0.95
#: Bootstrap resamples of a paired comparison.
RESAMPLES = 10_000
VERDICTS = ("supports", "contradicts", "inconclusive", "one sample")


@dataclass(frozen=True)
class Interval:
    """An estimate and its 95% interval, from ``n`` samples (``unit``: "images" or "seeds")."""

    estimate: float
    low: float
    high: float
    n: int
    unit: str

    def text(self, scale: float = 100.0, digits: int = 1, sign: bool = False, unit: str = "") -> str:
        """``"12.3 (95% CI 10.1 to 14.5)"`` in points (``scale`` 100; ``unit`` follows the estimate), or without an
        interval for one sample."""
        fmt = f"{{:{'+' if sign else ''}.{digits}f}}"
        value = fmt.format(self.estimate * scale) + unit
        if self.n < 2 and self.unit == "seeds":
            return value
        return f"{value} ({LEVEL:.0%} CI {fmt.format(self.low * scale)} to {fmt.format(self.high * scale)})"

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class Finding:
    """A claim, the difference that tests it (``difference``: ``a - b`` as :attr:`quantity` says) and the verdict.

    ``expected`` is the sign of the difference the claim predicts (+1 or -1); ``p_value`` is McNemar's exact test
    for paired images and the paired t-test for seeds (None for one seed)."""

    claim: str
    quantity: str
    difference: Interval
    expected: int
    method: str
    p_value: float | None = None

    def __post_init__(self):
        if self.expected not in (1, -1):
            raise ValueError(f"expected must be +1 or -1 (the sign the claim predicts), got {self.expected!r}")

    @property
    def verdict(self) -> str:
        d = self.difference
        if d.unit == "seeds" and d.n < 2:
            return "one sample"
        if d.low > 0 or d.high < 0:
            return "supports" if (d.low > 0) == (self.expected > 0) else "contradicts"
        return "inconclusive"

    def sentence(self) -> str:
        """The claim, the measurement and the verdict, in one sentence the book prints as it is."""
        d = self.difference
        measured = f"{self.quantity}: {d.text(sign=True, unit=' points')} over {d.n} {d.unit}"
        if self.verdict == "one sample":
            return f"{self.claim}? {measured}, one seed: a single sample, no verdict."
        ending = {"supports": "the interval excludes zero on the side the claim predicts: supported",
                  "contradicts": "the interval excludes zero on the other side: contradicted",
                  "inconclusive": "the interval includes zero: inconclusive at this budget"}[self.verdict]
        return f"{self.claim}? {measured}; {ending}."

    def row(self) -> dict:
        """A table row: the claim, the estimate with its interval, n and the verdict."""
        d = self.difference
        return {"claim": self.claim, "measured": self.quantity, "difference (points)": d.text(sign=True),
                "n": f"{d.n} {d.unit}", "verdict": self.verdict}

    def to_dict(self) -> dict:
        return {**asdict(self), "verdict": self.verdict}


def _as_correct(values: Sequence) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    if array.size == 0 or not np.isin(array, (0.0, 1.0)).all():
        raise ValueError("per-image correctness must be a non-empty sequence of 0s and 1s")
    return array


def accuracy(correct: Sequence) -> Interval:
    """Accuracy over ``correct`` (0/1 per image) with Wilson's 95% interval."""
    correct = _as_correct(correct)
    k, n = int(correct.sum()), correct.size
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=LEVEL, method="wilson")
    return Interval(k / n, float(ci.low), float(ci.high), n, "images")


def paired_images(correct_a: Sequence, correct_b: Sequence, *, claim: str, quantity: str, expected: int,
                  seed: int = 0) -> Finding:
    """Accuracy of classifier a minus that of b on the same images (0/1 per image, in the same order): a paired
    bootstrap percentile interval over the images and McNemar's exact p-value on the images they disagree on."""
    a, b = _as_correct(correct_a), _as_correct(correct_b)
    if a.shape != b.shape:
        raise ValueError(f"paired comparison of {a.size} and {b.size} images: the same images are needed")
    diff = a - b
    estimate = float(diff.mean())
    if np.all(diff == diff[0]):  # no variation to resample: the interval is the point
        low = high = estimate
    else:
        ci = stats.bootstrap((diff,), np.mean, n_resamples=RESAMPLES, confidence_level=LEVEL, method="percentile",
                             vectorized=True, random_state=np.random.default_rng(seed)).confidence_interval
        low, high = float(ci.low), float(ci.high)
    only_a, only_b = int((diff > 0).sum()), int((diff < 0).sum())
    p = stats.binomtest(only_a, only_a + only_b).pvalue if only_a + only_b else 1.0
    return Finding(claim, quantity, Interval(estimate, low, high, diff.size, "images"), expected,
                   "paired bootstrap over test images, McNemar's exact test", float(p))


def mean_over_seeds(values: Sequence[float], *, bounds: tuple[float, float] = (0.0, 1.0)) -> Interval:
    """The mean of one quantity over seeds with a Student-t 95% interval (the value itself for one seed), cut to the
    values the quantity can take (``bounds``: an accuracy's 0 to 1 by default; a difference of two, -1 to 1): with
    three seeds t's factor is 4.3, and an interval past 100% says nothing the bound does not."""
    values = np.asarray(values, dtype=float).ravel()
    if values.size == 0:
        raise ValueError("no seeds")
    mean = float(values.mean())
    if values.size < 2:
        return Interval(mean, mean, mean, 1, "seeds")
    half = stats.t.ppf(0.5 + LEVEL / 2, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size)
    low, high = max(mean - half, bounds[0]), min(mean + half, bounds[1])
    return Interval(mean, float(low), float(high), int(values.size), "seeds")


def paired_seeds(values_a: Sequence[float], values_b: Sequence[float], *, claim: str, quantity: str,
                 expected: int) -> Finding:
    """Mean over seeds of (a - b), run ``k`` of a against run ``k`` of b (the same seed, so the same data order and,
    where they share it, initialization), with a Student-t interval and the paired t-test; one seed gives a single
    sample and the verdict ``"one sample"``."""
    a, b = np.asarray(values_a, dtype=float).ravel(), np.asarray(values_b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired comparison of {a.size} and {b.size} seeds: the same seeds are needed")
    diff = a - b
    interval = mean_over_seeds(diff, bounds=(-1.0, 1.0))
    p = None
    if diff.size >= 2:
        if np.allclose(diff, diff[0], rtol=0, atol=1e-12):  # no spread over the seeds: t is not defined
            p = 1.0 if abs(diff[0]) < 1e-12 else 0.0
        else:
            p = float(stats.ttest_1samp(diff, 0.0).pvalue)
    method = "Student-t interval over seeds" if diff.size >= 2 else "one seed"
    return Finding(claim, quantity, interval, expected, method, p)


def images_for_half_width(discordant: float, half_width: float = 0.02) -> int:
    """Test images a paired comparison needs for a 95% interval of at most ``half_width`` (0.02: +-2 points), when a
    share ``discordant`` of the images is classified correctly by exactly one of the two: the interval's half-width
    is about ``1.96 * sqrt(discordant / n)`` when the difference is small."""
    if not 0 < discordant <= 1 or not half_width > 0:
        raise ValueError("discordant must be in (0, 1] and half_width positive")
    z = stats.norm.ppf(0.5 + LEVEL / 2)
    return int(np.ceil(discordant * (z / half_width) ** 2))


def findings_json(found: Sequence[Finding]) -> str:
    """``found`` as JSON (the book glues it, so that the results of two builds can be compared:
    :func:`compare_builds`)."""
    import json

    return json.dumps([finding.to_dict() for finding in found])


def from_dict(values: dict) -> Finding:
    """A finding from :meth:`Finding.to_dict`."""
    values = {k: v for k, v in values.items() if k != "verdict"}
    return Finding(**{**values, "difference": Interval(**values["difference"])})


def compare_builds(a: Sequence[Finding], b: Sequence[Finding]) -> list[dict]:
    """The findings of two builds side by side, matched by claim and quantity: both estimates and intervals, both
    verdicts, and whether they agree as a rebuild must: neither supports a claim that the other contradicts, and
    each estimate lies inside the other build's interval. A finding in one build only is reported as unmatched."""
    rows = []
    by_key = {(f.claim, f.quantity): f for f in b}
    for first in a:
        second = by_key.pop((first.claim, first.quantity), None)
        row = {"claim": first.claim, "quantity": first.quantity, "a": first.difference.text(sign=True),
               "a verdict": first.verdict, "b": "", "b verdict": "", "agree": False}
        if second is not None:
            opposed = {first.verdict, second.verdict} == {"supports", "contradicts"}
            inside = (second.difference.contains(first.difference.estimate) and
                      first.difference.contains(second.difference.estimate))
            row.update({"b": second.difference.text(sign=True), "b verdict": second.verdict,
                        "agree": not opposed and inside})
        rows.append(row)
    for second in by_key.values():
        rows.append({"claim": second.claim, "quantity": second.quantity, "a": "", "a verdict": "",
                     "b": second.difference.text(sign=True), "b verdict": second.verdict, "agree": False})
    return rows
