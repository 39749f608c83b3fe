"""Figures for the book (matplotlib + seaborn), one function each, so notebooks stay thin."""

from __future__ import annotations

import textwrap

import matplotlib
import matplotlib.ticker
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns


def use_book_style() -> None:
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")


def glue_figure(name: str, fig: plt.Figure) -> None:
    """Hand ``fig`` to the book under ``name`` (``myst_nb.glue``, shown where a page's ``glue:figure`` asks for it,
    not where the cell runs) and close it, so that the notebook holds no open figures."""
    from myst_nb import glue

    glue(name, fig, display=False)
    plt.close(fig)


def glue_values(values: dict) -> None:
    """Hand each of ``values`` to the book under its name (``myst_nb.glue``), shown where a page's ``{glue:text}``
    asks for it."""
    from myst_nb import glue

    for name, value in values.items():
        glue(name, value, display=False)


def costs_per_row(table: pd.DataFrame) -> plt.Figure:
    """Parameters and multiply-adds of each row of Table 1 with parameters: the model's against the paper's."""
    rows = table.drop(index="total")
    rows = rows[rows["params"] > 0]
    labels = (rows["type"].str.replace("inception ", "").str.replace("convolution", "conv") + " "
              + rows["patch size/stride"]).str.strip()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), sharey=True)
    for ax, column, title in ((axes[0], "params", "parameters"), (axes[1], "ops", "multiply-adds")):
        data = pd.DataFrame({"row": labels.tolist() * 2,
                             "value": list(rows[column].astype(float)) + list(rows[f"{column} (paper)"].astype(float)),
                             "source": ["this model"] * len(rows) + ["Table 1 as printed"] * len(rows)})
        sns.barplot(data=data, y="row", x="value", hue="source", ax=ax, orient="h", errorbar=None, legend=ax is axes[0])
        ax.set(xscale="log", xlabel=f"{title} (log scale)", ylabel="", title=title)
    sns.move_legend(axes[0], "lower center", bbox_to_anchor=(1.0, -0.32), ncol=2, title=None, frameon=False)
    fig.tight_layout()
    return fig


def naive_vs_reduced(table: pd.DataFrame) -> plt.Figure:
    """Multiply-adds of each module with reductions (Figure 2b), naive on the same input (2a), and naive stacked."""
    columns = {"ops (2b)": "with 1x1 reductions (2b)", "ops (2a)": "naive, same input (2a)",
               "stacked 2a ops": "naive, stacked on naive (2a)"}
    data = table[list(columns)].rename(columns=columns).reset_index().melt(
        id_vars="module", var_name="module kind", value_name="multiply-adds")
    fig, ax = plt.subplots(figsize=(10, 4))
    sns.barplot(data=data, x="module", y="multiply-adds", hue="module kind", ax=ax, errorbar=None)
    ax.set(yscale="log", ylabel="multiply-adds (log scale)", xlabel="inception module")
    ax.legend(title=None)
    fig.tight_layout()
    return fig


def activation_scales(scales: dict[str, dict[str, float]]) -> plt.Figure:
    """Standard deviation of each layer's output at initialization, one line per scheme."""
    fig, ax = plt.subplots(figsize=(10, 4))
    for scheme, per_layer in scales.items():
        ax.plot(list(per_layer), list(per_layer.values()), marker="o", label=scheme)
    ax.set(yscale="log", ylabel="output standard deviation (log scale)", xlabel="")
    ax.tick_params(axis="x", rotation=60)
    ax.legend(title="initialization")
    fig.tight_layout()
    return fig


def image_grid(images, titles=None, *, columns: int = 10, size: float = 1.3) -> plt.Figure:
    """Images (CHW tensors, uint8 or float in [0, 1]) in a grid, with optional titles."""
    import torch

    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(columns * size, rows * (size + 0.25)), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(images):
            image = images[i]
            image = image.float() / 255 if image.dtype == torch.uint8 else image
            ax.imshow(image.permute(1, 2, 0).clamp(0, 1).numpy())
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
    fig.tight_layout()
    return fig



LOSS_TITLES = {"loss_main": "main classifier", "loss_aux1": "auxiliary classifier on 4a",
               "loss_aux2": "auxiliary classifier on 4d"}


def loss_curves(steps: pd.DataFrame, *, smooth: int = 5) -> plt.Figure:
    """Training losses against the step, one panel per loss (main, aux1, aux2) and one line per run.

    ``steps``: the rows of ``TrainResult.steps`` with a ``run`` column; each line is a centred rolling mean over
    ``smooth`` records."""
    losses = [c for c in ("loss_main", "loss_aux1", "loss_aux2") if c in steps and steps[c].notna().any()]
    fig, axes = plt.subplots(1, len(losses), figsize=(4.2 * len(losses), 3.6), sharey=True, squeeze=False)
    for ax, column in zip(axes[0], losses):
        for run, rows in steps.groupby("run", sort=False):
            if rows[column].notna().any():
                ax.plot(rows["step"], rows[column].rolling(smooth, center=True, min_periods=1).mean(), label=run)
        ax.set(title=LOSS_TITLES[column], xlabel="step", ylabel="cross-entropy")
    axes[0][0].legend(title=None)
    fig.tight_layout()
    return fig


def accuracy_curves(history: pd.DataFrame, *, column: str = "val_top1") -> plt.Figure:
    """Validation top-1 against the epoch, one line per run for the raw weights (solid) and, where the run has them,
    the Polyak-averaged weights (dashed). ``history``: the rows of ``TrainResult.history`` with a ``run`` column."""
    fig, ax = plt.subplots(figsize=(7, 4))
    palette = sns.color_palette()
    for i, (run, rows) in enumerate(history.groupby("run", sort=False)):
        colour = palette[i % len(palette)]
        ax.plot(rows["epoch"], rows[column], marker="o", color=colour, label=f"{run}: raw weights")
        polyak = f"polyak_{column}"
        if polyak in rows and rows[polyak].notna().any():
            ax.plot(rows["epoch"], rows[polyak], marker="s", ls="--", color=colour, label=f"{run}: Polyak average")
    ax.set(xlabel="epoch", ylabel="validation top-1", ylim=(0, 1))
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(title=None, fontsize=8)
    fig.tight_layout()
    return fig


def convergence(runs: pd.DataFrame | None, *, steps: int | None = None) -> plt.Figure:
    """Validation top-1 against the training steps of ``benchmarks/convergence.py``'s runs
    (:func:`reproduce.book.chapters.training.convergence_runs`): one panel per family of configurations, one line per
    configuration
    through the mean over its seeds at each length it was run for, and each seed's run as a small point of the same
    colour and marker. ``steps``: the length this build trains, as a dotted vertical line. No runs (the file is not
    there): a panel that says so."""
    if runs is None or not len(runs):
        fig, ax = plt.subplots(figsize=(7, 1.5))
        ax.text(0.5, 0.5, "not measured: python benchmarks/convergence.py writes benchmarks/results/convergence.json",
                ha="center", va="center", fontsize=9)
        ax.set_axis_off()
        return fig
    families = list(dict.fromkeys(runs["family"]))
    fig, axes = plt.subplots(len(families), 1, figsize=(11, 3.4 * len(families)), sharex=True, squeeze=False)
    palette, markers = sns.color_palette("colorblind", n_colors=10), "osD^vP*Xph<>"
    for ax, family in zip(axes[:, 0], families):
        rows = runs[runs["family"] == family]
        for i, (configuration, group) in enumerate(rows.groupby("configuration", sort=True)):
            colour, marker = palette[i % len(palette)], markers[i % len(markers)]
            means = group.groupby("steps")["val top-1"].mean()
            ax.plot(means.index, means.to_numpy(), marker=marker, color=colour, lw=1.4, ms=6,
                    label=textwrap.fill(configuration, 60))
            ax.scatter(group["steps"], group["val top-1"], marker=marker, color=colour, s=14, alpha=0.45,
                       label="_seeds")
        if steps:
            ax.axvline(steps, color="black", ls=":", lw=1, label=f"this build: {steps:,} steps")
        ax.set(title=family, ylabel="validation top-1", ylim=(0, 1.03), xscale="log")
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    ax = axes[-1, 0]
    ax.set_xlabel("training steps (log scale); lines: the mean over seeds, points: each seed")
    ticks = sorted(set(runs["steps"]) | ({steps} if steps else set()))
    ax.xaxis.set_major_locator(matplotlib.ticker.FixedLocator(ticks))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{x:,.0f}"))
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    fig.tight_layout()
    return fig


def photo_crops_144(photo) -> plt.Figure:
    """:func:`crops_144` of a photograph (an (H, W, 3) uint8 array, as ``skimage.data`` gives them), cut at the
    paper's 224 px by :func:`reproduce.evaluate.paper_crops_144`."""
    import torch

    from ..evaluate.crops import PAPER_CROP, crop_boxes_144, paper_crops_144

    image = torch.from_numpy(photo).permute(2, 0, 1).float() / 255
    return crops_144(paper_crops_144(image, PAPER_CROP), crop_boxes_144(*image.shape[1:], PAPER_CROP))


def crops_144(crops, boxes) -> plt.Figure:
    """The 144 crops of one image in a 12 x 12 grid: one row per scale and square, one column per kind of crop,
    unmirrored then mirrored. ``crops``: (144, 3, S, S) in [0, 1]; ``boxes``: their ``CropBox`` es."""
    fig, axes = plt.subplots(12, 12, figsize=(12, 12.6))
    for i, (crop, box) in enumerate(zip(crops, boxes)):
        unmirrored = i % 72
        row, column = unmirrored // 6, unmirrored % 6 + 6 * box.mirrored
        ax = axes[row, column]
        ax.imshow(crop.permute(1, 2, 0).clamp(0, 1).numpy())
        ax.set_xticks([])
        ax.set_yticks([])
        if row == 0:
            ax.set_title(box.kind.replace(" ", "\n") + ("\n(mirror)" if box.mirrored else ""), fontsize=7)
        if column == 0:
            ax.set_ylabel(f"{box.scale} px\n{box.square}", fontsize=7)
    fig.tight_layout(pad=0.3)
    return fig


def error_vs_cost(table: pd.DataFrame) -> plt.Figure:
    """Error against cost (forward passes per image, log scale) for one model and the ensemble, each with more
    crops: ours (top-1 error, from :func:`reproduce.book.chapters.evaluation.table3_with_paper`) beside the paper's
    (top-5)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    panels = [("cost", "top-1 error %", "this book (embedded data, top-1)"),
              ("paper: cost", "paper: top-5 error %", "the paper (ILSVRC 2014 validation, top-5)")]
    for ax, (cost, error, title) in zip(axes, panels):
        rows = table.dropna(subset=[cost, error])
        for ensemble, group in rows.groupby(rows["models"] > 1):
            models = group["paper: models" if cost.startswith("paper") else "models"].iloc[0]
            label = f"{models} models" if ensemble else "1 model"
            ax.plot(group[cost].astype(float), group[error], "o-", label=label)
            for _, row in group.iterrows():
                ax.annotate(f"{row['crops']} crop{'s' if row['crops'] > 1 else ''}", (float(row[cost]), row[error]),
                            textcoords="offset points", xytext=(4, 4), fontsize=8)
        ax.set_xscale("log")
        ax.set(xlabel="forward passes per image (log scale)", ylabel=error.removeprefix("paper: "), title=title)
        ax.legend()
    fig.tight_layout()
    return fig


def budget_by_stage(ops: pd.Series, budget: float) -> plt.Figure:
    """Multiply-adds per stage of the network (:func:`reproduce.analysis.costs.ops_by_stage`), stacked in one bar,
    against
    the paper's budget."""
    fig, ax = plt.subplots(figsize=(8, 2.2))
    left = 0.0
    for (stage, value), colour in zip(ops.items(), sns.color_palette()):
        ax.barh(0, float(value), left=left, color=colour, label=f"{stage}: {float(value) / 1e6:,.0f}M")
        left += float(value)
    ax.axvline(budget, color="black", ls="--", lw=1.5)
    ax.annotate(f"budget {budget / 1e9:.1f}G", (budget, 0.45), xytext=(-4, 0), textcoords="offset points",
                ha="right", fontsize=9)
    ax.set(yticks=[], xlabel="multiply-adds per image at inference", xlim=(0, max(left, budget) * 1.05))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{x / 1e9:.1f}G"))
    ax.legend(ncol=len(ops), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def widening(table: pd.DataFrame) -> plt.Figure:
    """Parameters and multiply-adds of the network against its width multiplier
    (:func:`reproduce.analysis.costs.widening`),
    log-log, beside the linear and quadratic growth from width 1."""
    fig, ax = plt.subplots(figsize=(6, 4))
    widths = table.index.to_numpy(dtype=float)
    for column, label in (("ops", "multiply-adds"), ("params", "parameters")):
        ax.plot(widths, table[column].astype(float) / float(table.loc[1.0, column]), "o-", label=label)
    ax.plot(widths, widths ** 2, "k--", lw=1, label="quadratic: width$^2$")
    ax.plot(widths, widths, "k:", lw=1, label="linear: width")
    ax.set(xscale="log", yscale="log", xlabel="width multiplier of every filter count (log scale)",
           ylabel="relative to the paper's network (log scale)")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xticks(widths)
    ax.legend()
    fig.tight_layout()
    return fig


def bottleneck_savings(table: pd.DataFrame) -> plt.Figure:
    """Multiply-adds of every 3x3 and 5x5 branch with its 1x1 reduction against without it
    (:func:`reproduce.analysis.costs.bottleneck_savings`)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    for ax, (branch, rows) in zip(axes, table.groupby("branch", sort=False)):
        data = rows.melt(id_vars="module", value_vars=["ops without reduction", "ops with reduction"],
                         var_name="branch built", value_name="multiply-adds")
        data["branch built"] = data["branch built"].str.removeprefix("ops ")
        sns.barplot(data=data, x="module", y="multiply-adds", hue="branch built", ax=ax, errorbar=None,
                    legend=ax is axes[0])
        ax.set(yscale="log", title=f"{branch} branches", xlabel="inception module",
               ylabel="multiply-adds (log scale)")
    axes[0].legend(title=None)
    fig.tight_layout()
    return fig


def receptive_fields(fields: dict[str, pd.DataFrame], object_sizes: dict[str, tuple[float, float]],
                     sizes: dict[str, float] | None = None) -> plt.Figure:
    """Receptive field of each inception branch against depth (:func:`reproduce.analysis.receptive.branch_fields`, log
    scale), one panel per network, with the range of object sizes that network sees shaded where it is known, and
    reference ``sizes`` (label -> pixels, e.g. image sides) as horizontal lines on every panel."""
    fig, axes = plt.subplots(1, len(fields), figsize=(6.5 * len(fields), 4), squeeze=False)
    for ax, (title, table) in zip(axes[0], fields.items()):
        for branch in ("1x1", "3x3", "5x5", "pool"):
            ax.plot(table.index, table[branch], marker="o", label=branch, ls=":" if branch == "pool" else "-")
        if title in object_sizes:
            low, high = object_sizes[title]
            ax.axhspan(low, high, color="grey", alpha=0.2, label="object diameters")
        for (label, size), style in zip((sizes or {}).items(), ("--", "-.", ":")):
            ax.axhline(size, color="black", ls=style, lw=1, label=label)
        ax.set(title=title, xlabel="inception module", ylabel="receptive field (input pixels, log scale)",
               yscale="log")
        ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1, 2, 5)))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.legend(title="branch", fontsize=8)
    fig.tight_layout()
    return fig


def fields_on_images(images, fields: dict[str, int], titles=None, *, size: float = 2.4) -> plt.Figure:
    """Images of one object on a flat background, with squares the size of some receptive fields (``fields``:
    label -> side in pixels) centred on the object, to compare what one unit sees with the object."""
    from matplotlib.patches import Rectangle
    import torch

    fig, axes = plt.subplots(1, len(images), figsize=(len(images) * size, size + 0.5), squeeze=False)
    palette = sns.color_palette()
    for i, (ax, image) in enumerate(zip(axes[0], images)):
        image = image.float() / 255 if image.dtype == torch.uint8 else image
        side = image.shape[-1]
        ax.imshow(image.permute(1, 2, 0).clamp(0, 1).numpy())
        rows, columns = (image != image[:, :1, :1]).any(dim=0).nonzero(as_tuple=True)  # unlike the corner pixel
        centre = (columns.float().mean().item(), rows.float().mean().item()) if len(rows) else ((side - 1) / 2,) * 2
        for (label, field), colour in zip(fields.items(), palette):
            ax.add_patch(Rectangle((centre[0] - field / 2, centre[1] - field / 2), field, field, fill=False, lw=1.8,
                                   color=colour, label=label if i == 0 else None))
        ax.set(xlim=(-0.5, side - 0.5), ylim=(side - 0.5, -0.5))
        ax.axis("off")
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    fig.legend(loc="lower center", ncol=len(fields), frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def ablation_curves(steps: pd.DataFrame, history: pd.DataFrame, table: pd.DataFrame, *,
                    chance: float | None = None, smooth: int = 5) -> plt.Figure:
    """The Inception-v3 ablation in two panels, one colour and marker per row: the main classifier's training loss
    against the step for the first seed's run of every row (a centred rolling mean over ``smooth`` records), and
    test top-1 (the mean over the row's seeds with its 95% interval) against the inference network's
    multiply-adds. ``chance`` (e.g. 1 / classes) is drawn as a dotted line. ``steps``:
    :func:`reproduce.book.formatting.run_frames` (runs named ``"<row> (seed k)"``); ``table``:
    :func:`reproduce.book.chapters.beyond.ablation_table`."""
    from .formatting import configuration, human

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    palette = sns.color_palette("colorblind", n_colors=10)
    colours = {run: palette[i % len(palette)] for i, run in enumerate(table["run"])}
    markers = dict(zip(table["run"], "osD^vP*X"))
    first_seed = {run: run for run in steps["run"].unique() if run.endswith(" (seed 0)") or "(seed" not in run}
    for run, rows in steps[steps["run"].isin(first_seed)].groupby("run", sort=False):
        row = configuration(run)
        axes[0].plot(rows["step"], rows["loss_main"].rolling(smooth, center=True, min_periods=1).mean(),
                     color=colours.get(row), marker=markers.get(row), markevery=max(len(rows) // 6, 1),
                     markersize=5, label=row)
    axes[0].set(title="training loss (main classifier), first seed", xlabel="step", ylabel="cross-entropy")
    for _, row in table.iterrows():
        axes[1].errorbar(row["multiply-adds"], row["top-1"], capsize=3, ls="none",
                         yerr=[[row["top-1"] - row["top-1 low"]], [row["top-1 high"] - row["top-1"]]],
                         marker=markers.get(row["run"], "o"), color=colours.get(row["run"]), label=row["run"])
    axes[1].set(title="test top-1 (mean over seeds, 95% interval) against cost",
                xlabel="multiply-adds per image (inference)", ylabel="top-1")
    axes[1].xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
    axes[1].xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: human(x)))
    if chance is not None:
        axes[1].axhline(chance, color="grey", ls=":", lw=1, label="_chance")
    axes[1].yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), frameon=False, fontsize=9)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def chapter_times(times: pd.DataFrame) -> plt.Figure:
    """Wall time of each executed notebook (:func:`reproduce.book.summary.chapter_times`), one bar each."""
    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * max(1, len(times))))
    if len(times):
        sns.barplot(data=times, y="notebook", x="minutes", ax=ax, errorbar=None, orient="h")
        for container in ax.containers:
            ax.bar_label(container, fmt="%.1f", padding=3, fontsize=8)
    ax.set(xlabel="wall time (minutes)", ylabel="")
    fig.tight_layout()
    return fig


def branch_attribution(shares: pd.DataFrame, importance: pd.DataFrame, table1: pd.DataFrame) -> plt.Figure:
    """Per inception module (by depth) and branch: its share of the module's output energy beside the share of
    channels Table 1 gives it (dashed), and the drop in accuracy when it is removed; bands are the intervals of
    :func:`reproduce.analysis.attribution.with_intervals`."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    palette = dict(zip(("1x1", "3x3", "5x5", "pool"), sns.color_palette()))
    panels = ((axes[0], shares, "share", "share of the module's output energy"),
              (axes[1], importance, "drop", "top-1 lost when the branch is removed"))
    for ax, frame, column, label in panels:
        for branch, rows in frame.groupby("branch", sort=False):
            ax.plot(rows["module"], rows[column], marker="o", color=palette[branch], label=branch)
            ax.fill_between(rows["module"], rows["low"], rows["high"], color=palette[branch], alpha=0.2)
        ax.set(xlabel="inception module", ylabel=label)
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    for branch, rows in table1.groupby("branch", sort=False):
        axes[0].plot(rows["module"], rows["share"], ls="--", color=palette[branch], lw=1,
                     label=f"{branch}: Table 1's share of channels")
    axes[0].legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)
    axes[1].axhline(0, color="black", lw=0.8)
    axes[1].legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=4, frameon=False)
    fig.tight_layout()
    return fig


def performance(result: dict) -> plt.Figure:
    """The throughput benchmark (``reproduce.perf.suite``) in three panels: images per second of torchvision's
    GoogLeNet (eager NCHW) and of reproduce's, for training and inference at each size (ratios written on the bars);
    the share of the fp32 matmul peak that training and inference reach, with where the time of a training step
    goes; and crops per second of the 144-crop evaluator, the model alone and the naive per-crop loop (log scale)."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4), gridspec_kw={"width_ratios": [1.1, 1.2, 1]})
    palette = sns.color_palette("colorblind")
    rows = [(f"{kind}\n{row['image_size']} px", row) for kind in ("training", "inference") for row in result[kind]]
    ax = axes[0]
    for i, (label, row) in enumerate(rows):
        speeds = row["images_per_second"]
        ax.bar(i - 0.2, speeds["torchvision"], 0.4, color=palette[7],
               label="torchvision, eager NCHW" if i == 0 else None)
        ax.bar(i + 0.2, speeds["reproduce"], 0.4, color=palette[0], label="reproduce" if i == 0 else None)
        ax.annotate(f"{row['ratio']:.2f}x", (i + 0.2, speeds["reproduce"]), ha="center", va="bottom", fontsize=9)
    ax.set(yscale="log", xticks=range(len(rows)), xticklabels=[label for label, _ in rows], ylabel="images per second",
           title="throughput")
    ax.legend(frameon=False, fontsize=9, loc="upper left")
    ax = axes[1]
    shares = pd.Series({label.replace("\n", ", "): row["share_of_peak"] for label, row in rows})
    ax.barh(shares.index, shares.values, color=palette[0])
    for name, target in (("training", 0.8), ("inference", 0.7)):
        positions = [i for i, label in enumerate(shares.index) if label.startswith(name)]
        ax.vlines(target, min(positions) - 0.4, max(positions) + 0.4, color=palette[3], ls="--",
                  label="target" if name == "training" else None)
    # bf16 autocast on a GPU can pass the fp32 peak
    ax.set(xlim=(0, max(1.0, 1.1 * shares.max())), title="share of the fp32 matmul peak", xlabel=None)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
    ax.invert_yaxis()
    ax.legend(frameon=False, fontsize=9, loc="lower right")
    ax = axes[2]
    data = pd.DataFrame([{"crop": f"{row['crop']} px", "method": method, "crops per second": rate}
                         for row in result["crops"] for method, rate in row["crops_per_second"].items()])
    sns.barplot(data=data, x="crop", y="crops per second", hue="method", ax=ax, errorbar=None,
                palette=[palette[0], palette[2], palette[7]])
    ax.set(yscale="log", xlabel="crop size", title="144-crop evaluation")
    ax.legend(frameon=False, fontsize=9, title=None)
    fig.tight_layout()
    return fig


def training_profile(profiles: list[dict]) -> plt.Figure:
    """Where the time of a training step goes (``reproduce.perf.training_profile``): per size, torchvision's step and
    reproduce's as stacked bars of milliseconds per image, one colour per group of operators."""
    groups = list(profiles[0]["shares"])
    palette = dict(zip(groups, sns.color_palette("colorblind", n_colors=len(groups))))
    fig, axes = plt.subplots(len(profiles), 1, figsize=(10, 0.6 + 1.5 * len(profiles)), squeeze=False)
    for ax, profile in zip(axes[:, 0], profiles):
        for row, name in enumerate(("torchvision", "reproduce")):
            left = 0.0
            for group in groups:
                width = 1000 * profile["seconds"][name][group] / profile["batch_size"]
                ax.barh(row, width, left=left, color=palette[group], label=group if row == 0 else None)
                left += width
        ax.set(yticks=[0, 1], yticklabels=["torchvision, NCHW", "reproduce"], xlabel="ms per image",
               title=f"training step, {profile['image_size']} px, batches of {profile['batch_size']}")
        ax.invert_yaxis()
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, frameon=False, fontsize=9, ncol=5, loc="lower center")
    fig.tight_layout(rect=(0, 0.12 if len(profiles) > 1 else 0.2, 1, 1))
    return fig


#: A difference of two accuracies lies within +-100 points, and the intervals of :mod:`reproduce.analysis.findings`
#: stop there.
DIFFERENCE_BOUND = 100.0


def findings(found, *, title: str | None = None) -> plt.Figure:
    """Each finding's difference (points) with its 95% interval as an error bar, against the zero line; the colour
    gives the verdict (:class:`reproduce.analysis.findings.Finding`). An interval that reaches +-100 points, where
    :mod:`reproduce.analysis.findings` stops it, ends in an arrow and says so: the t interval would go further. The
    axis spans
    every interval whole, with room for the arrows."""
    colours = {"supports": "tab:green", "contradicts": "tab:red", "inconclusive": "tab:grey", "one sample": "tab:blue"}
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * len(found) + 1.2))
    if not found:
        ax.text(0.5, 0.5, "no comparison: the rows it needs were not run", ha="center", va="center")
        ax.set_axis_off()
        return fig
    ends = [(100 * f.difference.low, 100 * f.difference.high) for f in found]
    left, right = min(0.0, *(low for low, _ in ends)), max(0.0, *(high for _, high in ends))
    arrow = 0.06 * max(right - left, 1.0)  # how far past a stopped end its arrow reaches
    for i, (finding, (low, high)) in enumerate(zip(found, ends)):
        d, colour = finding.difference, colours[finding.verdict]
        ax.errorbar(100 * d.estimate, i, xerr=[[100 * d.estimate - low], [high - 100 * d.estimate]],
                    fmt="o", capsize=4, color=colour, label=finding.verdict)
        for end, side in ((low, -1), (high, 1)):
            if side * end >= DIFFERENCE_BOUND - 1e-9:
                ax.annotate("", xy=(end + side * arrow, i), xytext=(end, i),
                            arrowprops=dict(arrowstyle="-|>", color=colour, lw=1.2, shrinkA=0, shrinkB=0))
                ax.annotate(f"stopped at {end:+.0f}", (end, i), xytext=(-3 * side, 5), textcoords="offset points",
                            ha="right" if side > 0 else "left", va="bottom", fontsize=7, color=colour)
    stopped = [side for low, high in ends for end, side in ((low, -1), (high, 1))
               if side * end >= DIFFERENCE_BOUND - 1e-9]
    pad = 0.04 * max(right - left, 1.0)
    ax.set_xlim(left - pad - arrow * (-1 in stopped), right + pad + arrow * (1 in stopped))
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(found)), [textwrap.fill(f.quantity, 45) for f in found], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("difference, percentage points (95% interval)")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=8, loc="best")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def miniature_curves(results: dict) -> plt.Figure:
    """Validation top-1 (Polyak-averaged weights) against the training steps of every run ``benchmarks/miniature.py``
    measured (its JSON, read): one line per run, one colour per network, chance dotted."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    colours = dict(zip(results["groups"], sns.color_palette(n_colors=len(results["groups"]))))
    labelled = set()
    for run in sorted(results["runs"], key=lambda run: (list(results["groups"]).index(run["group"]), run["seed"])):
        steps = [row[1] for row in run["curve"]]
        top1 = [100 * (row[3] if row[3] is not None else row[2]) for row in run["curve"]]
        label = None if run["group"] in labelled else run["group"]
        labelled.add(run["group"])
        ax.plot(steps, top1, color=colours[run["group"]], label=label, marker="o", markersize=2, linewidth=1.2)
    ax.axhline(100 / 20, color="grey", linestyle=":", linewidth=1, label="chance (20 classes)")
    ax.set(xlabel="training steps (batches of 32)", ylabel="validation top-1 (%)", ylim=(0, 100))
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
