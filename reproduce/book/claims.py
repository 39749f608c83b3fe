"""The claims the chapters check, each turned into a :class:`~reproduce.analysis.findings.Finding` from the chapter's
measurements: which runs or rows are compared, in which direction the paper predicts, and on what (two
configurations' seeds, or one set of members scored two ways on the same test images). The notebooks train and
score; this module decides what the numbers say.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from ..analysis.findings import Finding, Interval, mean_over_seeds, members_and_images, two_samples_over_seeds
from ..training.ablation import STEPS

#: Seeds of every comparison about training (issue: one seed is one sample).
SEEDS = 3
#: How close (in top-1) the paper's SGD must come to AdamW for the book's main run to use it.
SGD_MARGIN = 0.03


#: Where one network's top-1 lies above this, a claim of a gain has little room to show its size (the miniature's
#: design asks for single networks between 60% and 90%).
CEILING = 0.90


def convergence_caveat(histories: Sequence[Sequence[Mapping[str, float]]]) -> str | None:
    """How far the compared runs were from converged, from their per-epoch histories (``TrainResult.history``): the
    mean change of validation top-1 (Polyak-averaged weights where the run kept them) over the second half of the
    epochs, and the mean it ended at where that is above :data:`CEILING`. None for runs of one epoch."""
    curves = [[row.get("polyak_val_top1", row["val_top1"]) for row in history] for history in histories]
    curves = [curve for curve in curves if len(curve) > 1]
    if not curves:
        return None
    epochs = len(curves[0])
    gain = float(np.mean([curve[-1] - curve[epochs // 2 - 1] for curve in curves]))
    final = float(np.mean([curve[-1] for curve in curves]))
    said = (f"validation top-1 still changed by {100 * gain:+.1f} points on average over the last "
            f"{epochs - epochs // 2} of {epochs} epochs")
    return said + (f"; it ends at {final:.1%}, near the ceiling" if final > CEILING else "")


def table3_caveats(*, crop: bool, square: bool, one_model_top1: float) -> dict[str, str | None]:
    """What of the Evaluation chapter's design bears on Table 3's claims: on the crops' (``"crops"``), members
    trained on whole images (``crop``: whether they trained with Section 6's crops) see views at test time that
    training never showed, and on square images (``square``) Section 7's left, centre and right squares are one
    square; on every row (``"ceiling"``), one model's top-1 above :data:`CEILING`."""
    crops = [words for flag, words in (
        (not crop, "the members trained on whole images, so the test crops show views training never did"),
        (square, "the images are square, so Section 7's three squares per scale are one")) if flag]
    return {"crops": "; ".join(crops) or None,
            "ceiling": (f"one model's top-1 is already {one_model_top1:.1%}, near the ceiling"
                        if one_model_top1 > CEILING else None)}


def training(top1: Mapping[str, Sequence[float]], *, network: str | None = None,
             caveat: str | None = None) -> list[Finding]:
    """The Training chapter's two claims, each the difference of two configurations' mean test top-1 over their
    seeds with the pooled two-sample interval (:func:`reproduce.analysis.findings.two_samples_over_seeds`) for the
    difference
    of their expected values over trainings. ``top1``: test top-1 per seed of ``"heads, Polyak"``, ``"heads, raw"``
    and ``"no heads, Polyak"``; ``network`` and ``caveat``: what the findings name (:meth:`Finding.trained_on`)."""
    return [finding.trained_on(network, caveat) for finding in [
        two_samples_over_seeds(top1["heads, Polyak"], top1["no heads, Polyak"],
                               claim="Do the auxiliary classifiers raise the main classifier's accuracy (Section 5)",
                               quantity="test top-1 with the heads minus without", expected=+1),
        two_samples_over_seeds(top1["heads, Polyak"], top1["heads, raw"],
                               claim="Does Polyak averaging give a better model for inference (Section 6)",
                               quantity="test top-1 of the averaged weights minus the raw", expected=+1),
    ]]


#: The paper's central claim (Sections 1, 3 and 9) as the miniature tests it: each network without Inception's
#: reduced modules, at GoogLeNet's multiply-adds and training budget (``benchmarks/miniature.py``), and the claim that
#: GoogLeNet beats it.
CENTRAL_CLAIMS = {
    "plain 3x3 stack": "Do Inception modules beat a plain stack of 3x3 convolutions of the same depth at equal "
                       "multiply-adds (Sections 1, 3, 9)",
    "naive modules (Figure 2a)": "Do the modules with 1x1 reductions (Figure 2b) beat naive modules (Figure 2a) at "
                                 "equal multiply-adds (Section 4)",
}


def central(top1: Mapping[str, Sequence[float]], *, network: str | None = None,
            caveat: str | None = None) -> list[Finding]:
    """The central claim: GoogLeNet's test top-1 over its seeds (``top1["GoogLeNet"]``) against each network of
    :data:`CENTRAL_CLAIMS` that ``top1`` holds, as two samples over seeds, naming ``network`` and ``caveat``."""
    return [two_samples_over_seeds(top1["GoogLeNet"], top1[name], claim=claim,
                                   quantity=f"test top-1, GoogLeNet minus {name}", expected=+1
                                   ).trained_on(network, caveat)
            for name, claim in CENTRAL_CLAIMS.items() if name in top1]


def optimizer(sgd: Sequence[float], adamw: Sequence[float], *, margin: float = SGD_MARGIN) -> dict:
    """Whether the paper's SGD (its best learning rate, per seed) comes within ``margin`` of AdamW's test top-1:
    the difference of their means over seeds, SGD - AdamW, with the pooled two-sample interval for the difference of
    their expected values over trainings, and ``use_sgd``, true when the whole interval lies above ``-margin``."""
    difference = two_samples_over_seeds(sgd, adamw, claim=f"Does the paper's SGD come within {margin:.0%} of AdamW",
                                        quantity="test top-1, SGD minus AdamW", expected=+1).difference
    return {"difference": difference, "use_sgd": not difference.single and difference.low >= -margin,
            "sgd": mean_over_seeds(sgd), "adamw": mean_over_seeds(adamw)}


#: The direction the Inception-v3 paper (and the BN paper, for batch norm) reports for each row's change.
ABLATION_CLAIMS = {
    "+ batch norm": ("Does batch norm raise accuracy (BN paper; v3 Table 3)", +1),
    "+ factorized 5x5": ("Does factorizing 5x5 into two 3x3 keep or raise accuracy (v3 Section 3.1, Table 3)", +1),
    "+ label smoothing": ("Does label smoothing raise accuracy (v3 Section 7)", +1),
    "+ BN-auxiliary": ("Does batch-normalizing the auxiliary heads raise accuracy (v3 Table 3)", +1),
    "no auxiliary heads": ("Does removing the auxiliary heads lower accuracy (GoogLeNet Section 5; v3 Section 4)", -1),
}
assert set(ABLATION_CLAIMS) == {step.name for step in STEPS if step.parent is not None}


def ablation(top1: Mapping[str, Sequence[float]], *, networks: Mapping[str, str] | None = None,
             caveat: str | None = None) -> list[Finding]:
    """The Beyond-v1 chapter's claims: each row's mean test top-1 over its seeds against its parent row's, with the
    pooled two-sample interval over seeds (``top1``: test top-1 per seed of every trained row), for the rows whose
    parent was trained too; each names its row's network (``networks``, by row) and ``caveat``."""
    found = []
    for step in STEPS:
        if step.parent is None or step.name not in top1 or step.parent not in top1:
            continue
        claim, expected = ABLATION_CLAIMS[step.name]
        found.append(two_samples_over_seeds(top1[step.name], top1[step.parent], claim=claim,
                                            quantity=f"test top-1, {step.name!r} minus {step.parent!r}",
                                            expected=expected).trained_on((networks or {}).get(step.name), caveat))
    return found


def rows_that_learn(top1: Mapping[str, Sequence[float]], *, threshold: float = 0.5) -> dict[str, Interval]:
    """Each row's mean test top-1 over its seeds with the interval; the chapter marks those below ``threshold``."""
    return {name: mean_over_seeds(values) for name, values in top1.items()}


def table3(outcomes: Mapping[tuple[int, int], Callable], members: int, *, network: str | None = None,
           caveats: Mapping[str, str | None] | None = None) -> list[Finding]:
    """Section 7's claims on Table 3's rows: every row of ``outcomes`` (:func:`reproduce.evaluate.table3.outcomes`:
    per-image correctness of ``(models, crops)`` from the ``members`` trained networks, all on the same images)
    against one model with one crop, paired on the images and the members, with intervals for the expected value
    over trainings of the members and over test images (:func:`reproduce.analysis.findings.members_and_images`). Each
    names
    the members' ``network`` and the caveats of :func:`table3_caveats` that bear on it (the crops' on rows of more
    than one crop, the ceiling on every row)."""
    caveats = caveats or {}
    found = []
    for (models, crops), outcome in outcomes.items():
        if (models, crops) == (1, 1):
            continue
        if models == 1:
            claim = f"Do {crops} crops beat one crop (Section 7)"
        elif crops == 1:
            claim = f"Does an ensemble of {models} beat one model (Section 7)"
        else:
            claim = f"Do {models} models with {crops} crops each beat one model with one crop (Section 7)"
        caveat = "; ".join(c for c in (caveats.get("crops") if crops > 1 else None, caveats.get("ceiling")) if c)
        found.append(members_and_images(outcome, outcomes[(1, 1)], members, claim=claim,
                                        quantity=f"top-1, {models} model{'s' if models > 1 else ''} x {crops} "
                                                 f"crop{'s' if crops > 1 else ''} minus 1 x 1", expected=+1
                                        ).trained_on(network, caveat or None))
    return found


def table3_together(every_image: Sequence[Finding], on_subset: Sequence[Finding]) -> list[Finding]:
    """:func:`table3`'s findings on every test image, then those on the subset that the whole split does not make
    (the settings with more than 10 crops)."""
    measured = {f.quantity for f in every_image}
    return [*every_image, *(f for f in on_subset if f.quantity not in measured)]
