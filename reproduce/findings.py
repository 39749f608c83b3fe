"""Findings: a claim checked by a measured difference, its 95% interval and the verdict the interval allows.

The chapters do not write "helps" or "lowers" themselves; they build a :class:`Finding` from their measurements and
print its :meth:`~Finding.sentence`, which states a direction only where the interval excludes zero:

- :func:`paired_seeds` compares two training configurations over seeds (run ``k`` of one against run ``k`` of the
  other), with a Student-t interval of the mean difference; one seed is one sample, reported without a verdict;
- :func:`members_and_images` compares two ways of scoring one set of trained networks (Table 3's rows: one
  model or the ensemble, with one crop or many) on the same test images, paired on both, with an interval that holds
  for another training of the networks too: the spread over the networks (the jackknife, one left out at a time)
  and over the images (the standard error of the per-image outcomes), Student-t with one degree of freedom fewer
  than networks; the same test images on every machine, and no random resampling, so the same numbers give the same
  interval everywhere;
- :func:`mean_over_seeds` and :func:`over_members_and_images` give the interval of one quantity.

A verdict is ``"supports"`` when the whole interval lies on the side the claim predicts, ``"contradicts"`` when it
lies on the other side, ``"inconclusive"`` when it contains zero, and ``"one sample"`` for a single seed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np
from scipy import stats

#: The confidence level of every interval in the book.
LEVEL = 0.95
VERDICTS = ("supports", "contradicts", "inconclusive", "one sample")


@dataclass(frozen=True)
class Interval:
    """An estimate and its 95% interval, from ``n`` samples (``unit``: "images" or "seeds"); ``members``: the trained
    networks an estimate over images also draws on (:func:`over_members_and_images`), None where it holds the
    networks fixed."""

    estimate: float
    low: float
    high: float
    n: int
    unit: str
    members: int | None = None

    def over(self) -> str:
        """What the interval is over: ``"3 seeds"``, ``"2000 images"``, ``"2000 images and 7 members"``."""
        return f"{self.n} {self.unit}" + (f" and {self.members} members" if self.members else "")

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

    ``expected`` is the sign of the difference the claim predicts (+1 or -1); ``p_value`` is the t-test of the
    difference: over the members and images for :func:`members_and_images`, paired over seeds for
    :func:`paired_seeds` (None for one seed)."""

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
        measured = f"{self.quantity}: {d.text(sign=True, unit=' points')} over {d.over()}"
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
                "n": d.over(), "verdict": self.verdict}

    def to_dict(self) -> dict:
        return {**asdict(self), "verdict": self.verdict}


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


def _members_and_images(outcome: Callable[[list[int]], np.ndarray], members: int) -> tuple[float, float, int, int]:
    """The estimate of :func:`over_members_and_images`, its standard error, the images and the degrees of freedom
    (0: the normal quantile)."""
    if members < 1:
        raise ValueError(f"members must be at least 1, got {members}")
    everyone = list(range(members))
    values = np.asarray(outcome(everyone), dtype=float).ravel()
    if values.size < 2:
        raise ValueError("an interval over images needs at least 2 images")
    variance = values.var(ddof=1) / values.size
    if members >= 2:
        left_out = np.array([np.asarray(outcome(everyone[:m] + everyone[m + 1:]), dtype=float).mean()
                             for m in everyone])
        variance += (members - 1) / members * ((left_out - left_out.mean()) ** 2).sum()
    return float(values.mean()), float(np.sqrt(variance)), int(values.size), members - 1


def _quantile(degrees_of_freedom: int) -> float:
    upper = 0.5 + LEVEL / 2
    return float(stats.t.ppf(upper, degrees_of_freedom) if degrees_of_freedom else stats.norm.ppf(upper))


def over_members_and_images(outcome: Callable[[list[int]], np.ndarray], members: int, *,
                            bounds: tuple[float, float] = (0.0, 1.0)) -> Interval:
    """The mean over the test images of ``outcome(networks)`` -- a per-image value (N,) computed from the trained
    networks whose indices it is given, such as the correctness of their ensemble or the mean correctness of each --
    with a 95% interval over both the networks and the images, so that it holds for another training of the networks
    (a rebuild on another machine trains them anew) and not only for these.

    The variance over the networks is the jackknife's: ``outcome`` is recomputed with each of the ``members`` left
    out, and the variance of the mean is ``(M - 1) / M`` times the sum of squares of those M estimates about their
    mean (for a mean over the networks this is the sample variance over M divided by M: the seeds' interval). The
    variance over the images is that of the mean of ``outcome(all)``. The interval adds the two, takes Student's t
    with ``M - 1`` degrees of freedom (the normal quantile for one network, whose interval is then over the images
    only, the network held fixed), and stops at ``bounds``. A jackknife over the members of an ensemble measures
    ensembles of ``M - 1``, whose spread is larger than that of ``M``: the interval errs wide, not narrow."""
    return _interval(*_members_and_images(outcome, members), bounds)


def _interval(estimate: float, error: float, images: int, freedom: int, bounds: tuple[float, float]) -> Interval:
    half = _quantile(freedom) * error
    return Interval(estimate, max(estimate - half, bounds[0]), min(estimate + half, bounds[1]), images, "images",
                    freedom + 1 if freedom else None)


def members_and_images(outcome_a: Callable[[list[int]], np.ndarray], outcome_b: Callable[[list[int]], np.ndarray],
                       members: int, *, claim: str, quantity: str, expected: int) -> Finding:
    """Scoring a minus scoring b of the same ``members`` trained networks on the same images (each ``outcome`` as in
    :func:`over_members_and_images`: per-image values from the networks it is given), paired on both: the interval
    of :func:`over_members_and_images` of the per-image difference, and the two-sided p-value of its t statistic."""
    def difference(networks):
        return np.asarray(outcome_a(networks), dtype=float) - np.asarray(outcome_b(networks), dtype=float)

    estimate, error, images, freedom = _members_and_images(difference, members)
    interval = _interval(estimate, error, images, freedom, (-1.0, 1.0))
    if error == 0:
        p = 1.0 if estimate == 0 else 0.0
    else:
        t = abs(estimate) / error
        p = float(2 * (stats.t.sf(t, freedom) if freedom else stats.norm.sf(t)))
    method = ("jackknife over the members and standard error over the test images, Student-t" if members >= 2
              else "standard error over the test images (one member, held fixed)")
    return Finding(claim, quantity, interval, expected, method, p)


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
    each estimate lies inside the other build's interval (``agree``). ``consistent`` is the test of the same
    question at the 95% level: the two estimates differ by less than the half-width of their difference's interval,
    taken as the root of the sum of the squared half-widths (independent builds; each estimate lies in the other's
    interval only about 83% of the time when both are exact 95% intervals of equal width). A finding in one build only
    is reported as unmatched."""
    rows = []
    by_key = {(f.claim, f.quantity): f for f in b}
    for first in a:
        second = by_key.pop((first.claim, first.quantity), None)
        row = {"claim": first.claim, "quantity": first.quantity, "a": first.difference.text(sign=True),
               "a verdict": first.verdict, "b": "", "b verdict": "", "agree": False, "consistent": False}
        if second is not None:
            d, e = first.difference, second.difference
            opposed = {first.verdict, second.verdict} == {"supports", "contradicts"}
            inside = e.contains(d.estimate) and d.contains(e.estimate)
            half = np.hypot((d.high - d.low) / 2, (e.high - e.low) / 2)
            row.update({"b": e.text(sign=True), "b verdict": second.verdict, "agree": not opposed and inside,
                        "consistent": bool(abs(d.estimate - e.estimate) <= half)})
        rows.append(row)
    for second in by_key.values():
        rows.append({"claim": second.claim, "quantity": second.quantity, "a": "", "a verdict": "",
                     "b": second.difference.text(sign=True), "b verdict": second.verdict, "agree": False,
                     "consistent": False})
    return rows
