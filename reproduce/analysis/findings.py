"""Findings: a claim checked by a measured difference, its 95% interval and the verdict the interval allows.

The chapters do not write "helps" or "lowers" themselves; they build a :class:`Finding` from their measurements and
print its :meth:`~Finding.sentence`, which states a direction only where the interval excludes zero:

- :func:`two_samples_over_seeds` compares two training configurations over seeds: the difference of their means,
  with the pooled two-sample Student-t interval (``n_a + n_b - 2`` degrees of freedom). The comparison is not paired:
  run ``k`` of two configurations shares seed ``k``, but once the configurations differ their outcomes are not
  correlated (the seeds of ``benchmarks/results/convergence.json``), and pairing them would only spend degrees of
  freedom. One seed of each is one sample, reported without
  a verdict;
- :func:`members_and_images` compares two ways of scoring one set of trained networks (Table 3's rows: one model or
  the ensemble, with one crop or many) on the same test images, paired on both: the spread over the networks (the
  jackknife, one left out at a time) and over the images (the standard error of the per-image outcomes), Student-t
  with one degree of freedom fewer than networks; the same test images on every machine, and no random resampling,
  so the same numbers give the same interval everywhere;
- :func:`mean_over_seeds` and :func:`over_members_and_images` give the interval of one quantity.

Every interval is one for an expected value, not for what one more run gives (which spreads wider): over seeds, the
expected value over trainings of each configuration; over members and images, the expected value over trainings of
the members and over test images like these; over images alone, the expected value over test images with the
networks held fixed.

A verdict is ``"supports"`` when the whole interval lies on the side the claim predicts, ``"contradicts"`` when it
lies on the other side, ``"inconclusive"`` when it contains zero, and ``"one sample"`` for a single seed.

:func:`compare_builds` says whether two builds of the book agree: no verdict opposed, and every matched finding's
two estimates consistent with one expected value (a test at family-wise 5%, Holm's, over the findings).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Callable, Sequence

import numpy as np
from scipy import stats

#: The confidence level of every interval in the book.
LEVEL = 0.95
VERDICTS = ("supports", "contradicts", "inconclusive", "one sample")


@dataclass(frozen=True)
class Interval:
    """An estimate and its 95% interval, from ``n`` samples (``unit``: "images" or "seeds").

    ``members``: the trained networks an estimate over images also draws on (:func:`over_members_and_images`), None
    where it holds the networks fixed. ``n_b``: for a difference of two configurations over seeds, the second one's
    seeds (``n``: the first one's). ``error``: the standard error the interval is built from, Student's t with
    ``freedom`` degrees of freedom (0: the normal quantile). ``between_builds_error``: the part of ``error`` that a
    rebuild draws anew (the seeds, or the members, not the test images every build scores), None where a build does
    not measure it (one seed, one member). The last three are None in results written before they were recorded."""

    estimate: float
    low: float
    high: float
    n: int
    unit: str
    members: int | None = None
    n_b: int | None = None
    error: float | None = None
    between_builds_error: float | None = None
    freedom: int | None = None

    @property
    def single(self) -> bool:
        """One seed (of each configuration, for a difference): a single sample, no interval."""
        return self.unit == "seeds" and self.n + (self.n_b or 1) < 3

    def over(self) -> str:
        """What the interval is over: ``"3 seeds"``, ``"3 + 3 seeds"`` (two configurations, 3 seeds each),
        ``"2000 images"``, ``"2000 images and 7 members"``."""
        if self.n_b is not None:
            return f"{self.n} + {self.n_b} {self.unit}"
        return f"{self.n} {self.unit}" + (f" and {self.members} members" if self.members else "")

    def covers(self) -> str:
        """What the interval is for: the expected value over what it is over."""
        if self.unit == "seeds":
            return "the expected value over trainings" + (" of each configuration" if self.n_b is not None else "")
        if self.members:
            return "the expected value over trainings of the members and over test images"
        return "the expected value over test images, the trained networks held fixed"

    def text(self, scale: float = 100.0, digits: int = 1, sign: bool = False, unit: str = "") -> str:
        """``"12.3 (95% CI 10.1 to 14.5)"`` in points (``scale`` 100; ``unit`` follows the estimate), or without an
        interval for one sample."""
        fmt = f"{{:{'+' if sign else ''}.{digits}f}}"
        value = fmt.format(self.estimate * scale) + unit
        if self.single:
            return value
        return f"{value} ({LEVEL:.0%} CI {fmt.format(self.low * scale)} to {fmt.format(self.high * scale)})"

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class Finding:
    """A claim, the difference that tests it (``difference``: ``a - b`` as :attr:`quantity` says) and the verdict.

    ``expected`` is the sign of the difference the claim predicts (+1 or -1); ``p_value`` is the t-test of the
    difference: over the members and images for :func:`members_and_images`, the pooled two-sample test over seeds
    for :func:`two_samples_over_seeds` (None for one seed of each). ``network``: the network as it was trained
    (:meth:`reproduce.training.TrainConfig.describe`), ``caveat``: what of the design bears on the verdict (how far
    the runs were from converged, a ceiling, crops training never showed); :meth:`trained_on` sets both."""

    claim: str
    quantity: str
    difference: Interval
    expected: int
    method: str
    p_value: float | None = None
    network: str | None = None
    caveat: str | None = None

    def __post_init__(self):
        if self.expected not in (1, -1):
            raise ValueError(f"expected must be +1 or -1 (the sign the claim predicts), got {self.expected!r}")

    @property
    def verdict(self) -> str:
        d = self.difference
        if d.single:
            return "one sample"
        if d.low > 0 or d.high < 0:
            return "supports" if (d.low > 0) == (self.expected > 0) else "contradicts"
        return "inconclusive"

    def sentence(self) -> str:
        """The claim, the measurement, what its interval is for and the verdict, in one sentence the book prints as
        it is."""
        d = self.difference
        measured = f"{self.quantity}: {d.text(sign=True, unit=' points')} over {d.over()}"
        if self.verdict == "one sample":
            return f"{self.claim}? {measured}, one seed{' of each' if d.n_b else ''}: a single sample, no verdict."
        ending = {"supports": "it excludes zero on the side the claim predicts: supported",
                  "contradicts": "it excludes zero on the other side: contradicted",
                  "inconclusive": "it includes zero: inconclusive at this budget"}[self.verdict]
        return f"{self.claim}? {measured}, an interval for {d.covers()}; {ending}."

    def trained_on(self, network: str | None, caveat: str | None = None) -> "Finding":
        """This finding, naming the network it was measured on and the caveat of its design."""
        return replace(self, network=network, caveat=caveat)

    def row(self) -> dict:
        """A table row: the claim, the network, the estimate with its interval, n, the verdict and the caveat."""
        d = self.difference
        return {"claim": self.claim, "network": self.network, "measured": self.quantity,
                "change (points, 95% CI)": d.text(sign=True), "n": d.over(), "verdict": self.verdict,
                "caveat": self.caveat}

    def to_dict(self) -> dict:
        return {**asdict(self), "verdict": self.verdict}


def _quantile(degrees_of_freedom: float) -> float:
    """Student's t (the normal for 0 degrees of freedom) at the upper end of a :data:`LEVEL` interval."""
    upper = 0.5 + LEVEL / 2
    return float(stats.t.ppf(upper, degrees_of_freedom) if degrees_of_freedom else stats.norm.ppf(upper))


def _two_sided_p(estimate: float, error: float, freedom: float) -> float:
    """The two-sided p-value of ``estimate / error`` against zero (Student's t, the normal for 0 degrees of
    freedom); for no spread at all, 1 where the estimate is zero and 0 where it is not."""
    if error == 0:
        return 1.0 if estimate == 0 else 0.0
    t = abs(estimate) / error
    return float(2 * (stats.t.sf(t, freedom) if freedom else stats.norm.sf(t)))


def _interval(estimate: float, error: float, freedom: int, bounds: tuple[float, float], n: int, unit: str,
              **fields) -> Interval:
    """The interval ``estimate`` +- t(``freedom``) ``error``, stopped at ``bounds``."""
    half = _quantile(freedom) * error
    return Interval(estimate, float(max(estimate - half, bounds[0])), float(min(estimate + half, bounds[1])), n, unit,
                    error=float(error), freedom=int(freedom), **fields)


def mean_over_seeds(values: Sequence[float], *, bounds: tuple[float, float] = (0.0, 1.0)) -> Interval:
    """The mean of one quantity over seeds with a Student-t 95% interval for its expected value over trainings (the
    value itself for one seed), cut to the values the quantity can take (``bounds``: an accuracy's 0 to 1 by
    default): with three seeds t's factor is 4.3, and an interval past 100% says nothing the bound does not. Every
    seed is a training a rebuild repeats, so the whole standard error is ``between_builds_error``."""
    values = np.asarray(values, dtype=float).ravel()
    if values.size == 0:
        raise ValueError("no seeds")
    mean = float(values.mean())
    if values.size < 2:
        return Interval(mean, mean, mean, 1, "seeds")
    error = float(stats.sem(values))
    return _interval(mean, error, values.size - 1, bounds, int(values.size), "seeds", between_builds_error=error)


def two_samples_over_seeds(values_a: Sequence[float], values_b: Sequence[float], *, claim: str, quantity: str,
                           expected: int) -> Finding:
    """The mean over seeds of configuration a minus that of configuration b, with the pooled two-sample Student-t
    interval for the difference of their expected values over trainings (one variance, pooled from both
    configurations' seeds; ``n_a + n_b - 2`` degrees of freedom) and the two-sided p-value of the same test; the
    interval stops at -1 and 1 (a difference of accuracies). The seeds need not be as many in a as in b. One seed of
    each gives a single sample and the verdict ``"one sample"``."""
    a, b = np.asarray(values_a, dtype=float).ravel(), np.asarray(values_b, dtype=float).ravel()
    if a.size == 0 or b.size == 0:
        raise ValueError(f"a comparison over seeds needs seeds of both configurations, got {a.size} and {b.size}")
    estimate = float(a.mean() - b.mean())
    freedom = a.size + b.size - 2
    if freedom == 0:
        return Finding(claim, quantity, Interval(estimate, estimate, estimate, 1, "seeds", n_b=1), expected,
                       "one seed of each")
    pooled = (((a - a.mean()) ** 2).sum() + ((b - b.mean()) ** 2).sum()) / freedom
    error = float(np.sqrt(pooled * (1 / a.size + 1 / b.size)))
    interval = _interval(estimate, error, freedom, (-1.0, 1.0), int(a.size), "seeds", n_b=int(b.size),
                         between_builds_error=error)
    return Finding(claim, quantity, interval, expected, "pooled two-sample Student-t interval over seeds",
                   _two_sided_p(estimate, error, freedom))


def seeds_for_half_width(seed_sd: float, half_width: float, *, most: int = 1000) -> int:
    """The seeds each of two configurations needs for the interval of :func:`two_samples_over_seeds` to be at most
    ``half_width`` wide either side, when the seeds' standard deviation is ``seed_sd`` (the smallest ``n`` with
    ``t(2n - 2) * seed_sd * sqrt(2 / n) <= half_width``); at least 2, and ``most`` + 1 where ``most`` do not
    suffice."""
    if not (seed_sd >= 0 and half_width > 0):
        raise ValueError(f"seed_sd must be non-negative and half_width positive, got {seed_sd!r}, {half_width!r}")
    for n in range(2, most + 1):
        if _quantile(2 * n - 2) * seed_sd * np.sqrt(2 / n) <= half_width:
            return n
    return most + 1


def _members_and_images(outcome: Callable[[list[int]], np.ndarray], members: int) -> dict:
    """The estimate of :func:`over_members_and_images`, its standard error, the members' part of it (None for one
    member), the images and the degrees of freedom (0: the normal quantile), as :func:`_interval`'s arguments."""
    if members < 1:
        raise ValueError(f"members must be at least 1, got {members}")
    everyone = list(range(members))
    values = np.asarray(outcome(everyone), dtype=float).ravel()
    if values.size < 2:
        raise ValueError("an interval over images needs at least 2 images")
    images = values.var(ddof=1) / values.size
    between = None
    if members >= 2:
        left_out = np.array([np.asarray(outcome(everyone[:m] + everyone[m + 1:]), dtype=float).mean()
                             for m in everyone])
        between = (members - 1) / members * ((left_out - left_out.mean()) ** 2).sum()
    return {"estimate": float(values.mean()), "error": float(np.sqrt(images + (between or 0.0))),
            "freedom": members - 1, "n": int(values.size), "unit": "images",
            "members": members if members >= 2 else None,
            "between_builds_error": None if between is None else float(np.sqrt(between))}


def over_members_and_images(outcome: Callable[[list[int]], np.ndarray], members: int, *,
                            bounds: tuple[float, float] = (0.0, 1.0)) -> Interval:
    """The mean over the test images of ``outcome(networks)`` -- a per-image value (N,) computed from the trained
    networks whose indices it is given, such as the correctness of their ensemble or the mean correctness of each --
    with a 95% interval over both the networks and the images: an interval for its expected value over trainings of
    the networks (a rebuild on another machine trains them anew) and over test images like these.

    The variance over the networks is the jackknife's: ``outcome`` is recomputed with each of the ``members`` left
    out, and the variance of the mean is ``(M - 1) / M`` times the sum of squares of those M estimates about their
    mean (for a mean over the networks this is the sample variance over M divided by M: the seeds' interval). The
    variance over the images is that of the mean of ``outcome(all)``. The interval adds the two, takes Student's t
    with ``M - 1`` degrees of freedom (the normal quantile for one network, whose interval is then over the images
    only, the network held fixed), and stops at ``bounds``. A jackknife over the members of an ensemble measures
    ensembles of ``M - 1``, whose spread is larger than that of ``M``: the interval errs wide, not narrow. The
    networks' part alone is ``between_builds_error``: every build scores the same test images."""
    return _interval(bounds=bounds, **_members_and_images(outcome, members))


def members_and_images(outcome_a: Callable[[list[int]], np.ndarray], outcome_b: Callable[[list[int]], np.ndarray],
                       members: int, *, claim: str, quantity: str, expected: int) -> Finding:
    """Scoring a minus scoring b of the same ``members`` trained networks on the same images (each ``outcome`` as in
    :func:`over_members_and_images`: per-image values from the networks it is given), paired on both: the interval
    of :func:`over_members_and_images` of the per-image difference, and the two-sided p-value of its t statistic."""
    def difference(networks):
        return np.asarray(outcome_a(networks), dtype=float) - np.asarray(outcome_b(networks), dtype=float)

    measured = _members_and_images(difference, members)
    interval = _interval(bounds=(-1.0, 1.0), **measured)
    method = ("jackknife over the members and standard error over the test images, Student-t" if members >= 2
              else "standard error over the test images (one member, held fixed)")
    return Finding(claim, quantity, interval, expected, method,
                   _two_sided_p(measured["estimate"], measured["error"], measured["freedom"]))


def findings_json(found: Sequence[Finding]) -> str:
    """``found`` as JSON (the book glues it, so that the results of two builds can be compared:
    :func:`compare_builds`)."""
    import json

    return json.dumps([finding.to_dict() for finding in found])


def from_dict(values: dict) -> Finding:
    """A finding from :meth:`Finding.to_dict` (also one written before intervals recorded their standard errors)."""
    values = {k: v for k, v in values.items() if k != "verdict"}
    return Finding(**{**values, "difference": Interval(**values["difference"])})


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the order given: with the m p-values sorted, the i-th smallest
    (i = 1 ... m) times ``m - i + 1``, raised to the largest of those before it and cut at 1. Rejecting the
    hypotheses whose adjusted p is at most alpha keeps the chance of rejecting any true one at most alpha."""
    p = np.asarray(p_values, dtype=float).ravel()
    order = np.argsort(p, kind="stable")
    stepped = np.minimum(1.0, np.maximum.accumulate((p.size - np.arange(p.size)) * p[order]))
    adjusted = np.empty_like(p)
    adjusted[order] = stepped
    return adjusted


def _between_builds(first: Interval, second: Interval) -> tuple[float, float, float] | None:
    """``first.estimate - second.estimate``, its standard error (two independent builds: the root of the sum of
    the squared ``between_builds_error``) and the two-sided p-value of "the same expected value", Student's t with
    the Welch-Satterthwaite degrees of freedom; None where either build does not measure what varies between
    builds."""
    errors = np.array([first.between_builds_error, second.between_builds_error], dtype=float)
    if np.isnan(errors).any():
        return None
    freedoms = np.array([first.freedom or np.inf, second.freedom or np.inf], dtype=float)
    difference, error = first.estimate - second.estimate, float(np.hypot(*errors))
    spread = ((errors ** 4) / freedoms).sum()
    freedom = float((errors ** 2).sum() ** 2 / spread) if spread > 0 else 0.0  # 0: the normal quantile
    return difference, error, _two_sided_p(difference, error, freedom)


@dataclass(frozen=True)
class BuildComparison:
    """The findings of two builds side by side (:func:`compare_builds`), one row each, and whether the builds agree
    (:attr:`agree`)."""

    rows: list[dict]

    @property
    def agree(self) -> bool:
        """Every finding is in both builds, no verdict is opposed and every tested finding is consistent."""
        return bool(self.rows) and all(row["agree"] for row in self.rows)


def compare_builds(a: Sequence[Finding], b: Sequence[Finding]) -> BuildComparison:
    """The findings of two builds (say, with 1 and 2 threads per notebook), matched by claim and quantity, and
    whether they agree as two honest builds of the same book do. The rule, fixed before any build is compared:

    - no finding supports its claim in one build and contradicts it in the other (``opposed``);
    - every matched finding passes the test of "both builds estimate the same expected value" at a family-wise
      level of 5% (Holm's correction over the tested findings, ``Holm p`` above 0.05: ``consistent``). The
      difference's standard error is built only from what a rebuild draws anew (each interval's
      ``between_builds_error``): for a comparison over seeds its whole standard error, for a Table 3 row only the
      members' part, since both builds score the same test images. The two builds are taken as independent, the
      root of the sum of the two squared errors (builds that share seeds are correlated if anything, so the test
      errs towards passing them), with Student's t at the Welch-Satterthwaite degrees of freedom of the two errors'
      own (three seeds give few: the normal quantile would fail honest builds too often);
    - every finding is in both builds (a finding in one only is reported unmatched, and does not agree).

    A finding that a build measures without a spread between builds (one seed, one member, or results written
    before intervals recorded it) cannot be tested: its ``consistent`` is None and it is left out of Holm's family.
    Each row: the claim, the quantity, both builds' estimates with their intervals and verdicts, the difference
    a - b and its standard error (points), p, Holm's p, ``opposed``, ``consistent`` and ``agree``."""
    rows, tested = [], []
    by_key = {(f.claim, f.quantity): f for f in b}
    for first in a:
        second = by_key.pop((first.claim, first.quantity), None)
        rows.append(_row(first, second))
        if second is not None and (measured := _between_builds(first.difference, second.difference)) is not None:
            difference, error, p = measured
            rows[-1].update({"a - b (points)": 100 * difference, "standard error (points)": 100 * error, "p": p})
            tested.append(rows[-1])
    rows += [_row(None, second) for second in by_key.values()]
    for row, adjusted in zip(tested, holm([row["p"] for row in tested])):
        row.update({"Holm p": float(adjusted), "consistent": bool(adjusted > 1 - LEVEL)})
    for row in rows:
        row["agree"] = bool(row["b"] and row["a"] and not row["opposed"] and row["consistent"] is not False)
    return BuildComparison(rows)


def _row(first: Finding | None, second: Finding | None) -> dict:
    """:func:`compare_builds`' row of a finding of build a, of build b, or of both (before the test)."""
    found = [f for f in (first, second) if f is not None]
    return {"claim": found[0].claim, "quantity": found[0].quantity,
            "a": first.difference.text(sign=True) if first else "", "a verdict": first.verdict if first else "",
            "b": second.difference.text(sign=True) if second else "", "b verdict": second.verdict if second else "",
            "a - b (points)": None, "standard error (points)": None, "p": None, "Holm p": None,
            "opposed": {f.verdict for f in found} == {"supports", "contradicts"}, "consistent": None}
