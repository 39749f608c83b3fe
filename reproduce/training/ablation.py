"""What Inception-v2/v3 changed, one change at a time: an ablation in the manner of Table 3 of "Rethinking the
Inception Architecture for Computer Vision" (Szegedy et al., 2015), on top of the paper's GoogLeNet.

:func:`inception_v3_ablation` turns one base :class:`~reproduce.training.config.TrainConfig` into six runs that share
everything that is not the change under test (data, epochs, images, schedule, optimizer, seed):

1. the paper's network (no batch norm, LRN in the stem, real 5x5 convolutions, both auxiliary heads);
2. + batch norm after every convolution (Ioffe & Szegedy, 2015), which replaces the LRN;
3. + every 5x5 convolution factorized into two 3x3 convolutions (v3, Section 3.1);
4. + label smoothing with epsilon 0.1 (v3, Section 7);
5. + batch-normalized auxiliary heads, their fully connected layer included ("BN-auxiliary", v3, Table 3);
6. row 2 without auxiliary heads (v3, Section 4: they act as regularizers).

Rows 2-5 are cumulative, each adding one change to the row before; row 6 removes the heads from row 2, so that it
is the Training chapter's "without auxiliary heads" configuration and the book trains it once for both chapters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from .config import TrainConfig


@dataclass(frozen=True)
class AblationStep:
    """One row of the ablation: its name, what it changes relative to ``parent`` (None: the base), and how."""

    name: str
    change: str
    parent: str | None
    options: dict[str, Any]


#: The rows, in order. ``options`` are the TrainConfig fields the row sets on top of its parent.
STEPS: tuple[AblationStep, ...] = (
    AblationStep("GoogLeNet (paper)", "the paper's network: LRN, 5x5 convolutions, auxiliary heads", None,
                 dict(batch_norm=False, aux_batch_norm=False, branch5x5="5x5", label_smoothing=0.0,
                      aux_heads=True)),
    AblationStep("+ batch norm", "batch norm after every convolution (replaces the LRN)", "GoogLeNet (paper)",
                 dict(batch_norm=True)),
    AblationStep("+ factorized 5x5", "each 5x5 convolution becomes two 3x3 convolutions", "+ batch norm",
                 dict(branch5x5="2x3x3")),
    AblationStep("+ label smoothing", "label smoothing, epsilon 0.1", "+ factorized 5x5",
                 dict(label_smoothing=0.1)),
    AblationStep("+ BN-auxiliary", "the auxiliary heads' FC layer batch-normalized too", "+ label smoothing",
                 dict(aux_batch_norm=True)),
    # removed from row 2, not row 5: the same configuration as the Training chapter's runs without heads, trained once
    AblationStep("no auxiliary heads", "row 2's auxiliary heads removed", "+ batch norm", dict(aux_heads=False)),
)

def inception_v3_ablation(base: TrainConfig, rows: Sequence[str] | None = None) -> dict[str, TrainConfig]:
    """The configurations of the ablation, in order (``{name: config}``), built from ``base``: every field that is
    not part of a change (data, epochs, images, schedule, optimizer, seed, width, ...) is ``base``'s in every run, so
    that the runs have equal training budgets. ``base``'s own model choices (``batch_norm``, ``branch5x5``,
    ``label_smoothing``, ``aux_heads``, ``aux_batch_norm``) are replaced by the first row's. ``rows``: the names
    (from :data:`STEPS`) of the rows to keep, all six when None; a row keeps every change of the rows above it,
    trained or not."""
    known = [step.name for step in STEPS]
    if rows is not None and (not rows or set(rows) - set(known)):
        raise ValueError(f"rows={list(rows)!r} must name some of the ablation's rows, {known}")
    configs: dict[str, TrainConfig] = {}
    for step in STEPS:
        parent = base if step.parent is None else configs[step.parent]
        configs[step.name] = parent.replace(**step.options)
    return {name: config for name, config in configs.items() if rows is None or name in rows}


def ablation_runs(base: TrainConfig, rows: Sequence[str] | None = None, *, seeds: int = 1) -> dict[str, TrainConfig]:
    """:func:`inception_v3_ablation` with ``seeds`` runs of every row (seeds ``base.seed, base.seed + 1, ...``),
    named ``"<row> (seed k)"``: run ``k`` of every row shares its seed, so the rows are compared seed by seed."""
    return {run_name(row, k): config.replace(seed=base.seed + k)
            for row, config in inception_v3_ablation(base, rows).items() for k in range(seeds)}


def training_chapter_runs(base: TrainConfig, *, seeds: int, sgd_lrs: Sequence[float] = (),
                          augmentation: bool = True) -> dict[str, TrainConfig]:
    """The Training chapter's runs (``{name: config}``): GoogLeNet as ``base`` says and the same network without its
    auxiliary heads, each with seeds ``base.seed, base.seed + 1, ...`` (``seeds`` of them; a seed sets the
    initialization, the order of the images, the augmentation and the dropout); the paper's SGD (momentum 0.9,
    weight decay 2e-4) at each of ``sgd_lrs`` with the first seed (:func:`sgd_runs` adds the other seeds for the
    best rate); with ``augmentation``, the paper's augmentation (random crops, photometric distortions, random
    interpolation, flips) with the first seed. Every run has ``base``'s budget."""
    runs = {}
    for k in range(seeds):
        runs[run_name("GoogLeNet", k)] = base.replace(seed=base.seed + k)
    for k in range(seeds):
        runs[run_name("without auxiliary heads", k)] = base.replace(seed=base.seed + k, aux_heads=False)
    runs.update(sgd_runs(base, sgd_lrs, seeds=1))
    if augmentation:
        runs[run_name("paper's augmentation", 0)] = base.replace(crop=True, crop_min_scale=0.08, photometric=True,
                                                                 random_interpolation=True, flip=True)
    return runs


def sgd_runs(base: TrainConfig, lrs: Sequence[float], *, seeds: int, first_seed: int = 0) -> dict[str, TrainConfig]:
    """``base`` with the paper's optimizer (SGD, momentum 0.9, weight decay 2e-4) at each learning rate of ``lrs``,
    seeds ``first_seed`` to ``seeds - 1`` (counted from ``base.seed``)."""
    return {run_name(f"SGD, lr {lr:g}", k): base.replace(optimizer="sgd", lr=lr, momentum=0.9, weight_decay=2e-4,
                                                         seed=base.seed + k)
            for lr in lrs for k in range(first_seed, seeds)}


def best_sgd_lr(results: dict, lrs: Sequence[float]) -> float:
    """The rate of :func:`sgd_runs` whose first seed ends with the highest validation top-1 (``results``: the
    trained runs by name): the rate the Training chapter then trains with every seed."""
    return max(lrs, key=lambda lr: results[run_name(f"SGD, lr {lr:g}", 0)].history[-1]["val_top1"])


def train_with_best_sgd(runs: dict[str, TrainConfig], base: TrainConfig, sgd_lrs: Sequence[float], *, seeds: int,
                        runs_dir=None) -> tuple[dict, dict[str, float], float | None]:
    """The Training chapter's training: ``runs`` (:func:`~reproduce.training.launch.train_runs`, kept in ``runs_dir``),
    then, where ``base`` is not already the paper's SGD and ``sgd_lrs`` were tried (first seed), the best of those
    rates (:func:`best_sgd_lr`) with every other seed. Returns the trained runs and their seconds by name, and the
    best rate (None where no SGD was tried)."""
    from .launch import train_runs

    results, seconds = train_runs(runs, runs_dir)
    if base.optimizer == "sgd" or not sgd_lrs:
        return results, seconds, None
    best = best_sgd_lr(results, sgd_lrs)
    more, more_seconds = train_runs(sgd_runs(base, [best], seeds=seeds, first_seed=1), runs_dir)
    return {**results, **more}, {**seconds, **more_seconds}, best


def run_name(label: str, seed: int) -> str:
    """``"GoogLeNet (seed 1)"``: a run's name in the chapters' tables, with its seed counted from the base's."""
    return f"{label} (seed {seed})"


def changes(configs: dict[str, TrainConfig]) -> dict[str, dict[str, tuple[Any, Any]]]:
    """For each configuration after the first, the fields in which it differs from its parent row
    (``{name: {field: (parent's value, its value)}}``): what each row of the ablation changes."""
    parents = {step.name: step.parent for step in STEPS}
    result = {}
    for name, config in configs.items():
        parent = parents.get(name)
        if parent is None:
            continue
        before, after = configs[parent].to_dict(), config.to_dict()
        result[name] = {k: (before[k], after[k]) for k in after if before[k] != after[k]}
    return result


def inference_costs(config: TrainConfig, num_classes: int) -> dict[str, int]:
    """Parameters and multiply-adds of one image (at ``config.image_size``) of the network ``config`` trains, as it
    is used at inference: without the auxiliary heads, counted with :mod:`reproduce.analysis.costs`."""
    from ..analysis import costs
    from ..models import googlenet

    model = googlenet(num_classes, **{**config.model_options(), "aux_heads": False, "aux_batch_norm": False})
    size = config.image_size
    return {"params": costs.count_params(model), "macs": costs.profile(model, (1, 3, size, size)).macs[""]}


def factorization_costs(config: TrainConfig, num_classes: int, *, channels: int = 64, grid: int = 8) -> dict:
    """What factorizing the 5x5 convolutions into two 3x3 costs, counted with :mod:`reproduce.analysis.costs`.

    ``equal_width``: one 5x5 convolution against two stacked 3x3 convolutions with ``channels`` inputs and outputs
    each, on a ``grid`` x ``grid`` map: the setting of Section 3.1 of Inception-v3, where the ratio is
    (9 + 9) / 25 = 0.72. ``branches``: the "5x5" branches of ``config``'s network (every module's 5x5 convolution,
    or its two 3x3 convolutions, without the 1x1 reduction before them) with each choice of ``branch5x5``.
    ``network``: the whole inference network with each choice."""
    from ..analysis import costs
    from ..models import googlenet
    from ..models.blocks import ConvBlock
    from torch import nn

    shape = (1, channels, grid, grid)
    single = costs.profile(ConvBlock(channels, channels, 5, padding=2), shape).macs[""]
    double = costs.profile(nn.Sequential(ConvBlock(channels, channels, 3, padding=1),
                                         ConvBlock(channels, channels, 3, padding=1)), shape).macs[""]
    result: dict[str, Any] = {"equal_width": {"5x5": single, "2x3x3": double, "ratio": double / single}}
    branches, network = {}, {}
    size = config.image_size
    for choice in ("5x5", "2x3x3"):
        model = googlenet(num_classes, **{**config.model_options(), "branch5x5": choice, "aux_heads": False,
                                          "aux_batch_norm": False})
        prof = costs.profile(model, (1, 3, size, size))
        # branch3 is (1x1 reduce, then the 5x5 or the two 3x3): everything in it after its first block
        branches[choice] = sum(prof.macs[f"{name}.branch3.{i}"] for name, module in model.inception_modules().items()
                               for i in range(1, len(module.branch3)))
        network[choice] = prof.macs[""]
    result["branches"] = {**branches, "ratio": branches["2x3x3"] / branches["5x5"]}
    result["network"] = {**network, "ratio": network["2x3x3"] / network["5x5"]}
    return result
