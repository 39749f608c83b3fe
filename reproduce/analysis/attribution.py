"""Which branches of an inception module a trained GoogLeNet uses: Section 4's hypothesis, measured.

Section 4 of the paper argues that as modules stack, features get more abstract and less spatially concentrated,
"suggesting that the ratio of 3x3 and 5x5 convolutions should increase as we move to higher layers". Two measures of
each branch of each module, per test image, so that intervals come from resampling the images:

- **share**: the branch's part of the activation energy (sum of squares) of the module's concatenated output;
- **importance**: whether the network still classifies the image correctly when the branch's output is replaced
  (by zeros, or by its mean over the images), one branch of one module at a time, against the intact network.

Written by hand: no library ablates the branches of a module. The intervals use ``scipy.stats.bootstrap``.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..models import GoogLeNet, InceptionModule

#: An inception module's branches, in the order of its concatenation, by the kernel that names them.
BRANCHES = ("1x1", "3x3", "5x5", "pool")
REPLACEMENTS = ("zero", "mean")


def _modules(model: GoogLeNet) -> dict[str, InceptionModule]:
    return {name.removeprefix("inception"): module for name, module in model.inception_modules().items()}


def _batches(images: torch.Tensor, batch_size: int) -> Iterator[torch.Tensor]:
    for start in range(0, len(images), batch_size):
        yield images[start:start + batch_size]


@torch.no_grad()
def _per_branch(model: GoogLeNet, images: torch.Tensor, batch_size: int,
                reduce: Callable[[torch.Tensor], torch.Tensor]) -> dict[tuple[str, str], list[torch.Tensor]]:
    """``reduce`` of every branch's output, batch by batch: ``{(module, branch): [one result per batch]}``."""
    model = model.eval()
    results: dict[tuple[str, str], list[torch.Tensor]] = {}

    def recorder(key):
        def hook(_module, _inputs, output):
            results.setdefault(key, []).append(reduce(output.float()).cpu())
        return hook

    hooks = [getattr(module, f"branch{i + 1}").register_forward_hook(recorder((name, branch)))
             for name, module in _modules(model).items() for i, branch in enumerate(BRANCHES)]
    try:
        for batch in _batches(images, batch_size):
            model(batch.to(next(model.parameters()).device))
    finally:
        for hook in hooks:
            hook.remove()
    return results


def branch_shares(model: GoogLeNet, images: torch.Tensor, *, batch_size: int = 256) -> pd.DataFrame:
    """Per image, module and branch: the branch's share of the module output's activation energy (the sum of the
    squared activations of its channels, over all positions, divided by the module's). Columns: module, branch,
    image, share. The shares of a module add up to 1 for every image."""
    energies = _per_branch(model, images, batch_size, lambda output: output.pow(2).flatten(1).sum(1))
    rows = []
    for name in _modules(model):
        per_branch = torch.stack([torch.cat(energies[name, b]) for b in BRANCHES])  # (branches, images)
        shares = per_branch / per_branch.sum(0).clamp_min(torch.finfo(per_branch.dtype).tiny)
        for i, branch in enumerate(BRANCHES):
            rows.append(pd.DataFrame({"module": name, "branch": branch, "image": np.arange(shares.shape[1]),
                                      "share": shares[i].numpy()}))
    return pd.concat(rows, ignore_index=True)


@contextmanager
def replaced(branch: nn.Module, value: torch.Tensor | None):
    """Within the block, ``branch`` outputs zeros (``value`` None) or ``value`` broadcast over its output."""
    def hook(_module, _inputs, output):
        return torch.zeros_like(output) if value is None else value.to(output).expand_as(output).clone()

    handle = branch.register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


def _branch_means(model: GoogLeNet, images: torch.Tensor, batch_size: int) -> dict[tuple[str, str], torch.Tensor]:
    """Each branch's output averaged over the images and positions, per channel: (1, C, 1, 1)."""
    sums = _per_branch(model, images, batch_size, lambda output: output.mean(dim=(2, 3)).sum(0))
    return {key: (torch.stack(parts).sum(0) / len(images))[None, :, None, None] for key, parts in sums.items()}


@torch.no_grad()
def _correct(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, batch_size: int) -> np.ndarray:
    device = next(model.parameters()).device
    hits = [model(batch.to(device)).argmax(1).cpu() == target
            for batch, target in zip(_batches(images, batch_size), _batches(targets, batch_size))]
    return torch.cat(hits).numpy()


@torch.no_grad()
def branch_importance(model: GoogLeNet, images: torch.Tensor, targets: torch.Tensor, *, replace: str = "zero",
                      batch_size: int = 256, modules: Sequence[str] | None = None) -> pd.DataFrame:
    """Per image, module and branch: whether the intact network classifies the image correctly (``intact``), and
    whether it still does with that one branch replaced (``ablated``); ``drop`` is their difference (1: the branch
    was needed for this image, -1: removing it helped). ``replace``: ``"zero"`` sets the branch's output to zeros,
    ``"mean"`` to its mean over the images (which keeps the next layer's input at its usual level)."""
    if replace not in REPLACEMENTS:
        raise ValueError(f"replace={replace!r} is not one of {REPLACEMENTS}")
    model = model.eval()
    chosen = _modules(model) if modules is None else {m: _modules(model)[m] for m in modules}
    means = _branch_means(model, images, batch_size) if replace == "mean" else {}
    intact = _correct(model, images, targets, batch_size)
    rows = []
    for name, module in chosen.items():
        for i, branch in enumerate(BRANCHES):
            with replaced(getattr(module, f"branch{i + 1}"), means.get((name, branch))):
                ablated = _correct(model, images, targets, batch_size)
            rows.append(pd.DataFrame({"module": name, "branch": branch, "image": np.arange(len(intact)),
                                      "intact": intact, "ablated": ablated,
                                      "drop": intact.astype(int) - ablated.astype(int)}))
    return pd.concat(rows, ignore_index=True)


def with_intervals(frame: pd.DataFrame, value: str, *, confidence: float = 0.95, resamples: int = 1000,
                   seed: int = 0) -> pd.DataFrame:
    """The mean of ``value`` per module and branch (and per ``run``, where the frame has one), with a bootstrap
    interval over the test images (``scipy.stats.bootstrap``, percentile method)."""
    from scipy.stats import bootstrap

    keys = [k for k in ("run", "module", "branch") if k in frame]
    rows = []
    for key, group in frame.groupby(keys, sort=False):
        data = group[value].to_numpy(dtype=float)
        if np.ptp(data) == 0:  # every image alike: the interval is the value
            low = high = data[0]
        else:
            result = bootstrap((data,), np.mean, confidence_level=confidence, n_resamples=resamples,
                               method="percentile", rng=np.random.default_rng(seed))
            low, high = result.confidence_interval
        rows.append({**dict(zip(keys, key)), value: data.mean(), "low": low, "high": high})
    return pd.DataFrame(rows)


def table1_shares(model: GoogLeNet) -> pd.DataFrame:
    """The share of each module's output channels that Table 1 gives each branch (#1x1, #3x3, #5x5, pool proj)."""
    rows = []
    for name, module in _modules(model).items():
        f = module.filters
        channels = dict(zip(BRANCHES, (f["#1x1"], f["#3x3"], f["#5x5"], f["pool proj"])))
        rows += [{"module": name, "branch": b, "share": c / module.out_channels} for b, c in channels.items()]
    return pd.DataFrame(rows)


def table1_large_share(model: GoogLeNet) -> pd.Series:
    """The share of each module's output channels that Table 1 gives its 3x3 and 5x5 branches together, by module
    from 3a to 5b: what Section 4's "ratio of 3x3 and 5x5 convolutions" is in the paper's own table."""
    channels = table1_shares(model)
    return channels[channels["branch"].isin(["3x3", "5x5"])].groupby("module", sort=False)["share"].sum()


def table1_trend_sentence(model: GoogLeNet) -> str:
    """What Table 1 does with Section 4's ratio, in words generated from :func:`table1_large_share` (see
    :func:`share_trend_sentence`)."""
    return share_trend_sentence(table1_large_share(model))


def share_trend_sentence(large: pd.Series) -> str:
    """The 3x3 and 5x5 branches' share of each module's output channels (``large``, by module from 3a to 5b, as
    :func:`table1_large_share` gives it), its :func:`linear_trend` and what that allows: a direction with depth only
    where the interval of the slope excludes zero."""
    fit = linear_trend(large)
    shares = ", ".join(f"{share:.1%}" for share in large)
    first, last = (str(name).removeprefix("inception") for name in (large.index[0], large.index[-1]))
    reading = (f"so it {'grows' if fit['slope'] > 0 else 'shrinks'} with depth" if direction(fit)
               else "an interval that includes zero: the shares scatter about the line, and Table 1 shows no trend "
                    "with depth")
    return (f"In Table 1 itself their share of each module's output channels goes {shares} from {first} to {last}: "
            f"its least-squares slope is {100 * fit['slope']:+.2f} points per module (95% interval "
            f"{100 * fit['low']:+.2f} to {100 * fit['high']:+.2f}, R² {fit['r2']:.2f}), {reading}.")


def trend(per_module: pd.Series) -> float:
    """The least-squares slope of a per-module quantity against the module's position (0 for 3a ... 8 for 5b): its
    change per module, positive when it grows with depth."""
    x = np.arange(len(per_module), dtype=float)
    return float(np.polyfit(x, per_module.to_numpy(dtype=float), 1)[0])


def linear_trend(per_module: pd.Series, *, confidence: float = 0.95) -> dict[str, float]:
    """:func:`trend` with its interval: the least-squares slope of a per-module quantity against the module's
    position (``scipy.stats.linregress``), ``low`` and ``high`` its Student-t interval with n - 2 degrees of freedom
    (how far the points scatter about the line), and ``r2`` the share of their variance the line explains. For a
    table such as Table 1, which is not a sample, the interval says whether a straight line describes the numbers
    better than their scatter about it does."""
    from scipy import stats

    values = per_module.to_numpy(dtype=float)
    fit = stats.linregress(np.arange(len(values), dtype=float), values)
    half = stats.t.ppf(0.5 + confidence / 2, len(values) - 2) * fit.stderr
    return {"slope": float(fit.slope), "low": float(fit.slope - half), "high": float(fit.slope + half),
            "r2": float(fit.rvalue ** 2)}


def large_kernel_trend(frame: pd.DataFrame, value: str, *, relative: bool = False, resamples: int = 1000,
                       confidence: float = 0.95, seed: int = 0) -> dict[str, float]:
    """How the 3x3 and 5x5 branches' combined ``value`` (their summed ``share``, or their summed ``drop``) changes
    with depth: the least-squares slope over the modules (change per module, 3a to 5b) of its mean over the runs and
    images, with a bootstrap interval that resamples the test images (the same resample for every run and module,
    since they all see the same images), and the slope of each run alone.

    ``relative``: their part of all four branches' summed ``value`` instead (for ``drop``: the large kernels' part
    of the accuracy that removing branches costs), which is what Section 4's "ratio" speaks of; the slope is then
    weighted by each module's total, so that modules where no branch matters do not decide it.

    ``frame``: :func:`branch_shares` or :func:`branch_importance` rows, with a ``run`` column when there are several
    networks. Returns ``slope``, ``low``, ``high``, ``runs_positive`` (runs whose own slope is above 0) and ``runs``."""
    frame = frame if "run" in frame else frame.assign(run=0)
    modules = list(dict.fromkeys(frame["module"]))
    runs = list(dict.fromkeys(frame["run"]))

    def cube(rows: pd.DataFrame) -> np.ndarray:  # (runs, images, modules)
        combined = rows.groupby(["run", "image", "module"], sort=False)[value].sum().unstack("module")
        return np.stack([combined.loc[run][modules].to_numpy(dtype=float) for run in runs])

    large = cube(frame[frame["branch"].isin(["3x3", "5x5"])])
    total = cube(frame) if relative else None
    position = np.arange(len(modules), dtype=float)

    def slope(large_means: np.ndarray, total_means: np.ndarray | None) -> np.ndarray:
        """Slopes of (..., modules) curves: least squares, weighted by the totals when relative."""
        if total_means is None:
            curve, weight = large_means, np.ones_like(large_means)
        else:
            weight = np.clip(total_means, 0, None)
            curve = np.divide(large_means, total_means, out=np.zeros_like(large_means), where=weight > 0)
        centre = (weight * position).sum(-1, keepdims=True) / weight.sum(-1, keepdims=True)
        dx = position - centre
        return (weight * dx * curve).sum(-1) / (weight * dx ** 2).sum(-1)

    rng = np.random.default_rng(seed)
    n = large.shape[1]
    counts = rng.multinomial(n, np.full(n, 1 / n), size=resamples)  # (resamples, images)

    def resampled(values: np.ndarray | None) -> np.ndarray | None:  # (resamples, modules)
        return None if values is None else np.einsum("rim,bi->bm", values, counts) / (len(runs) * n)

    def mean(values: np.ndarray | None, axis) -> np.ndarray | None:
        return None if values is None else values.mean(axis=axis)

    boot = slope(resampled(large), resampled(total))
    per_run = slope(mean(large, 1), mean(total, 1))
    alpha = (1 - confidence) / 2
    return {"slope": float(slope(mean(large, (0, 1)), mean(total, (0, 1)))), "low": float(np.quantile(boot, alpha)),
            "high": float(np.quantile(boot, 1 - alpha)), "runs_positive": int((per_run > 0).sum()),
            "runs": len(runs)}


def sample(dataset, num_images: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``num_images`` evenly spaced images of ``dataset`` (all when None; a class-sorted folder gives every class),
    stacked, and their labels."""
    from ..data import evenly_spaced

    chosen = evenly_spaced(dataset, num_images)
    images, labels = zip(*(chosen[i] for i in range(len(chosen))))
    return torch.stack(images), torch.tensor(labels, dtype=torch.int64)


def direction(trend: dict[str, float]) -> int:
    """1 when a :func:`large_kernel_trend` rises with depth beyond its interval, -1 when it falls, 0 when the
    interval holds both."""
    return 1 if trend["low"] > 0 else -1 if trend["high"] < 0 else 0


def verdict(energy: dict[str, float], needed: dict[str, float]) -> str:
    """What the two trends say of Section 4's claim that the 3x3 and 5x5 share should grow with depth: "supports"
    when both rise, "contradicts" when both fall, "partly supports" when one rises, else "does not support"."""
    signs = (direction(energy), direction(needed))
    if signs == (1, 1):
        return "supports"
    if signs == (-1, -1):
        return "contradicts"
    return "partly supports" if 1 in signs else "does not support"


def measure(models: dict[str, nn.Module], images: torch.Tensor, targets: torch.Tensor, *, replace: str = "zero"
            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`branch_shares` and :func:`branch_importance` of every network of ``models`` (by name) on the same
    images, each row marked with its network (``run``)."""
    shares = [branch_shares(model, images).assign(run=name) for name, model in models.items()]
    importance = [branch_importance(model, images, targets, replace=replace).assign(run=name)
                  for name, model in models.items()]
    return pd.concat(shares, ignore_index=True), pd.concat(importance, ignore_index=True)


def intact_accuracy(importance: pd.DataFrame) -> pd.Series:
    """Each network's top-1 with no branch removed, by network, from :func:`measure`'s importance rows."""
    first = importance[importance["module"] == importance["module"].iloc[0]]
    return first.groupby("run")["intact"].mean()


#: How a trend of :func:`large_kernel_trend` reads, by :func:`direction`.
DIRECTION = {1: "rises with depth", -1: "falls with depth", 0: "shows no trend the test images can resolve"}


def trend_table(energy: dict, lost: dict, needed: dict, table1: dict) -> pd.DataFrame:
    """The Branches chapter's measures of how the 3x3 and 5x5 branches matter with depth, one row each, with their
    change per module, interval and how many networks rise; Table 1's own slope (``table1``: its
    :func:`linear_trend`) last."""
    def row(measure, trend):
        rising = f"{trend['runs_positive']} of {trend['runs']}" if "runs" in trend else ""
        return {"measure": measure, "change per module": trend["slope"],
                "95% interval": f"{trend['low']:+.2%} to {trend['high']:+.2%}", "networks with a rising trend": rising}

    return pd.DataFrame([row("3x3 + 5x5 share of the output energy", energy),
                         row("3x3 + 5x5 top-1 lost when removed", lost),
                         row("3x3 + 5x5 part of the top-1 lost by removing branches", needed),
                         row("3x3 + 5x5 share of the channels (Table 1)", table1)])


def trend_sentences(energy: dict, lost: dict, needed: dict, table1: dict) -> str:
    """What :func:`trend_table` shows, in words generated from its numbers, ending with :func:`verdict`; Table 1's
    slope (``table1``: its :func:`linear_trend`) is given a direction only where its interval excludes zero."""
    change = f"{abs(table1['slope']):.2%} per module (95% interval {table1['low']:+.2%} to {table1['high']:+.2%})"
    how = {1: f"grows by {change}", -1: f"shrinks by {change}",
           0: f"changes by {table1['slope']:+.2%} per module (95% interval {table1['low']:+.2%} to "
              f"{table1['high']:+.2%}, which includes zero)"}[direction(table1)]
    table1_text = (f"Table 1 itself gives those branches a share of each module's channels that {how}"
                   + (", as the argument asks. " if direction(table1) > 0 else
                      ": the paper's network widens every branch as it goes deeper, not its large-kernel branches "
                      "more than the others. "))
    return (f"The 3x3 and 5x5 branches' combined share of the output energy {DIRECTION[direction(energy)]} "
            f"({energy['slope']:+.2%} per module, 95% interval {energy['low']:+.2%} to {energy['high']:+.2%}). The "
            f"large kernels' absolute accuracy loss {DIRECTION[direction(lost)]} ({lost['slope']:+.2%} per module), "
            f"which also moves with how much a module matters at all; the ratio the claim speaks of is their part of "
            f"the accuracy that removing branches costs, weighted by how much a module matters: it "
            f"{DIRECTION[direction(needed)]} ({needed['slope']:+.2%} per module, {needed['low']:+.2%} to "
            f"{needed['high']:+.2%}). " + table1_text
            + f"**At this scale the data {verdict(energy, needed)} the claim** that the ratio of 3x3 and 5x5 "
            f"convolutions should increase in higher layers.")
