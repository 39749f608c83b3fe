# ---
# jupyter:
#   jupytext:
#     formats: ipynb,text//py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Do larger kernels matter more with depth?
#
# Section 4 of {cite}`szegedy2015going` argues that as inception modules are stacked, "features of higher abstraction
# are captured by higher layers" and "their spatial concentration is expected to decrease", "suggesting that the
# ratio of 3x3 and 5x5 convolutions should increase as we move to higher layers". Table 1 is the network built on that
# argument. This notebook asks the trained networks whether they bear it out, with two measures for every branch of
# every module (`reproduce.analysis.attribution`):
#
# - its **share** of the module's output: the part of the activation energy (sum of squares) of the concatenated
#   output that the branch's channels carry;
# - its **importance**: the top-1 accuracy on the test split that the network loses when that one branch's output is
#   zeroed, one module at a time.
#
# Both are measured per test image, so intervals come from resampling the images. The claim predicts that the 3x3 and
# 5x5 branches' combined share and importance grow from inception (3a) to (5b).

# %% tags=["parameters"]
# What the networks change of the book's TrainConfig (reproduce.training.BOOK_CONFIG), by field name: their data set
# and device, and when they are trained here, how. The training augmentation also sets the scale of the test images
# (crop: True for torchvision's weights, trained on random crops).
config = {}
members = 3  # networks trained here when ensemble_dir is None (as the Evaluation chapter trains its members)
shared_epochs = 0  # as the Evaluation chapter: the networks share their initialization only
ensemble_dir = None  # a folder of trained members (the Evaluation chapter's runs_dir/ensemble): analysed, not retrained
torchvision_weights = None  # a torchvision GoogLeNet state_dict (e.g. the ported ImageNet weights): analysed instead
test_images = 200  # test images every branch is measured on (the Evaluation chapter scores 200 too)
replace = "zero"  # what a removed branch outputs: "zero", or "mean" (its mean output over the test images)

# %% tags=["hide-input"]
import time
from pathlib import Path

from IPython.display import Markdown
from myst_nb import glue

from reproduce.analysis import attribution
from reproduce import data
from reproduce.book import figures
from reproduce.evaluate.score import load_model
from reproduce.training import book_config
from reproduce.device import resolve_device
from reproduce.training.ensemble import load_members, train_ensemble

figures.use_book_style()
started = time.perf_counter()
config = book_config(config).replace(progress=False)
if torchvision_weights:
    model, _ = load_model(Path(torchvision_weights).expanduser(), preset="torchvision")
    models, size, origin = {"torchvision": model}, 224, f"torchvision's GoogLeNet ({torchvision_weights})"
elif ensemble_dir and Path(ensemble_dir).is_dir():
    models = {f"member {k + 1}": m for k, m in enumerate(load_members(ensemble_dir, which="polyak"))}
    size = config.image_size
    origin = (f"the {len(models)} members the Evaluation chapter trained, Polyak-averaged weights (reloaded from "
              f"`{ensemble_dir}`)")
else:
    models = {f"member {k + 1}": r.model for k, r in
              enumerate(train_ensemble(config, members, None, shared_epochs=shared_epochs))}
    size = config.image_size
    origin = f"{len(models)} networks trained here as the Evaluation chapter trains its members"
target = resolve_device(config.device)
models = {name: m.to(target).eval() for name, m in models.items()}
test_set = data.evaluation_set(config.dataset, "test", root=config.data_root, image_size=size,
                               crop=config.crop)
images, targets = attribution.sample(test_set, test_images)

# %% [markdown]
# ## The measurements

# %% tags=["hide-input"]
measure_started = time.perf_counter()
shares, importance = attribution.measure(models, images, targets, replace=replace)
measure_seconds = time.perf_counter() - measure_started
pooled_shares = attribution.with_intervals(shares.drop(columns="run"), "share")
pooled_importance = attribution.with_intervals(importance.drop(columns="run"), "drop")
channels = attribution.table1_shares(next(iter(models.values())))
accuracy = attribution.intact_accuracy(importance)
glue("n_models", str(len(models)), display=False)
glue("n_images", f"{len(targets):,}", display=False)
glue("accuracy_range", f"{accuracy.min():.1%} to {accuracy.max():.1%}", display=False)
figures.glue_figure("fig_branches", figures.branch_attribution(pooled_shares, pooled_importance, channels))
Markdown(f"Analysed: {origin}, on {len(targets):,} test images; their test top-1 is {accuracy.min():.1%} to "
         f"{accuracy.max():.1%}. A removed branch outputs {'zeros' if replace == 'zero' else 'its mean output'}.")

# %% [markdown]
# ```{glue:figure} fig_branches
# :name: fig-branches
#
# Left: each branch's share of its module's output energy, pooled over the {glue:text}`n_models` networks and
# {glue:text}`n_images` test images (bands: 95% bootstrap intervals over the images), with the share of the module's
# channels that Table 1 gives the branch (dashed). Right: the top-1 accuracy lost when the branch is removed.
# ```

# %% tags=["hide-input"]
energy = attribution.large_kernel_trend(shares, "share")
lost = attribution.large_kernel_trend(importance, "drop")
needed = attribution.large_kernel_trend(importance, "drop", relative=True)
table1_trend = attribution.linear_trend(attribution.table1_large_share(next(iter(models.values()))))
attribution.trend_table(energy, lost, needed, table1_trend).style.format({"change per module": "{:+.2%}"}).hide(
    axis="index")

# %% [markdown]
# ## The verdict

# %% tags=["hide-input"]
glue("verdict", attribution.verdict(energy, needed), display=False)
Markdown(attribution.trend_sentences(energy, lost, needed, table1_trend))

# %% [markdown]
# What this measurement is, and what would change the verdict:
#
# - **The networks are small and alike.** They are a quarter of the paper's width, trained for minutes on 64 px
#   images of ten shape classes, and, in the book's build, they are the Evaluation chapter's members, which share
#   their initial weights as Section 7's members did (they differ in the order of the images, the augmentation and
#   the dropout). They are reused to spare the budget of training networks of their own; networks trained from
#   independent initializations, to convergence, would give a spread across training runs that the intervals here
#   (over test images) do not contain.
# - **The task is not ImageNet.** The embedded objects have radii of 30 to 50% of a 64 px image, so their "spatial
#   concentration" differs from that of ImageNet's features. Rerunning this notebook with
#   `-p torchvision_weights PATH -p dataset imagefolder -p data_root IMAGENET` measures the ported ImageNet weights
#   on the validation images instead (`params/imagenet-gpu.yml`).
# - **Zeroing is one way to remove a branch.** The next layer never saw a zero branch in training; with
#   `-p replace mean` a removed branch outputs its mean instead, which keeps the next layer's input at its usual
#   level and measures information rather than scale.
# - **Energy is not use.** A branch can carry much of the activation energy that later layers ignore; the importance
#   measure is the one that asks the network.

# %% tags=["remove-cell"]
total = time.perf_counter() - started
glue("branches_minutes", f"{total / 60:.1f}", display=False)
glue("measure_seconds", f"{measure_seconds:.0f}", display=False)

# %% [markdown]
# This notebook took {glue:text}`branches_minutes` minutes, of which {glue:text}`measure_seconds` seconds measured the
# branches ({glue:text}`n_models` networks, each run over the test images once intact and once without every one of
# its 36 branches).
