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
# # Testing as Section 7 does: 144 crops and an ensemble of seven
#
# Section 7 of {cite}`szegedy2015going` scores GoogLeNet with two devices besides the network itself: many crops of
# each test image, whose softmax probabilities are averaged, and an ensemble of seven networks, whose averaged
# probabilities are averaged again. Table 3 of the paper breaks the top-5 error down by both: 10.07% for one model and
# one crop, 6.67% for seven models and 144 crops each, at 1,008 times the cost. This notebook cuts the 144 crops
# exactly as the paper describes them (`reproduce.evaluate`), trains an ensemble on the embedded data
# (`reproduce.training.ensemble`) and rebuilds Table 3 in miniature. With a `config` that names the data set, its
# folder and the paper's sizes it is the GPU rerun; `python -m reproduce evaluate` scores a checkpoint, for example the ported
# torchvision weights, on an ImageNet validation folder.

# %% tags=["parameters"]
# The defaults are a small run of every part (minutes); the book's sizes are in params/cpu.yml.
# What the members change of the book's TrainConfig (reproduce.training.BOOK_CONFIG), by field name. Its training
# augmentation also sets the scale of the 1 and 10 test crops; it is off but for flips, because within the minutes
# the members train on the CPU the paper's augmentation slows learning (the Training chapter measures it); the
# paper's runs had all of it. The crops are cut from the test images at their own size (shapes_size for "shapes").
config = {}
members = 3  # the paper's ensemble size is 7 (params/cpu.yml)
shared_init = False  # True: one initialization for every member, as Section 7's; False: each its own
shared_epochs = 0  # epochs of one run that every member starts from; 0: the paper's procedure
member_weights = "polyak"  # "polyak" (the paper's) or "raw" (see "The ensemble")
test_images = 500  # test images scored with 1 and 10 crops (None: the whole split)
many_crop_images = 50  # of these, the images (evenly spaced) also scored with more than 10 crops; None: all
crop_counts = [1, 10, 144]
runs_dir = None  # a folder to keep the members in (an interrupted run then resumes); None: in memory only
speed_test_batch = None  # images per member in the speed test at the end (None: the members' batch_size)

# %% tags=["hide-input"]
import time
from pathlib import Path

import skimage.data
from IPython.display import Markdown
from myst_nb import glue

from reproduce.book import claims, figures, formatting
from reproduce.book.chapters import evaluation as chapter
from reproduce.data import SQUARE
from reproduce.data.transforms import test_resize_ratio
from reproduce.evaluate import table3
from reproduce.evaluate.table3 import outcomes
from reproduce.analysis.findings import findings_json
from reproduce.perf import ensemble_comparison
from reproduce.training import book_config
from reproduce.training.ensemble import train_ensemble

figures.use_book_style()
config = book_config(config)
display(Markdown(formatting.config_summary(config)))
started = time.perf_counter()


# %% [markdown]
# ## The 144 crops
#
# "We resize the image to 4 scales where the shorter dimension (height or width) is 256, 288, 320 and 352
# respectively, take the left, center and right square of these resized images (in the case of portrait images, we
# take the top, center and bottom squares). For each square, we then take the 4 corners and the center 224x224 crop
# as well as the square resized to 224x224, and their mirrored versions." {numref}`fig-crops-landscape` shows all 144
# of a landscape photograph, {numref}`fig-crops-portrait` those of a portrait one; every row is one scale and one
# square. `paper_crops_144` cuts them for a whole batch at once (one resize per scale, the crops as slices, one flip),
# and a test checks every crop against the region the paper names on images whose pixels hold their own coordinates.

# %% tags=["hide-input"]
landscape = skimage.data.chelsea()  # 300 x 451
portrait = skimage.data.astronaut()[:, 96:416]  # 512 x 320, a portrait cut of the square photograph
for name, photo in (("fig_crops_landscape", landscape), ("fig_crops_portrait", portrait)):
    figures.glue_figure(name, figures.photo_crops_144(photo))

# %% [markdown]
# ```{glue:figure} fig_crops_landscape
# :name: fig-crops-landscape
#
# The 144 crops of a landscape photograph (`skimage.data.chelsea()`, 451 x 300): per scale the left, centre and right
# squares; in each the four corners, the centre and the whole square, then the same six mirrored.
# ```
#
# ```{glue:figure} fig_crops_portrait
# :name: fig-crops-portrait
#
# The 144 crops of a portrait photograph (a 320 x 512 cut of `skimage.data.astronaut()`): the squares are now the
# top, centre and bottom ones.
# ```

# %% [markdown]
# ## The ensemble
#
# "We independently trained 7 versions of the same GoogLeNet model (including one wider version), and performed
# ensemble prediction with them. These models were trained with the same initialization (even with the same initial
# weights, mainly because of an oversight) and learning rate policies, and they only differ in sampling methodologies
# and the random order in which they see input images." The members here all have the same width and the same
# sampling of images (one augmentation for all), and they differ from the paper's in one more respect:
# each starts from its own initialization (`shared_init=False`), so that they are the Training chapter's GoogLeNet
# runs, seed for seed, and the book trains each network once; `shared_init=True` gives
# the paper's shared start. They have seven seeds for the initialization, the order of the images, the augmentation
# and the dropout, and the same schedule (`shared_epochs=0`; a positive value trains one shared run first and starts
# every member from it, a way to fit an ensemble into a smaller budget). The members are evaluated with their
# Polyak-averaged weights, the paper's choice (`member_weights="polyak"`; `"raw"` scores the weights of the last
# step).

# %% tags=["hide-input", "remove-output"]
train_started = time.perf_counter()
folder = Path(runs_dir) / "ensemble" if runs_dir else None
results = train_ensemble(config, members, folder, shared_epochs=shared_epochs, run_root=runs_dir,
                         shared_init=shared_init)
train_seconds = time.perf_counter() - train_started
models = [(result.model if member_weights == "raw" else result.best_model()).eval() for result in results]

# %% tags=["hide-input"]
# the centre and ten crops at the scale the members were trained at; more crops on an evenly spaced subset; with a
# runs_dir, kept there as they are computed (a rerun resumes) and, on a machine of several GPUs, scored on all of them
settings, targets = chapter.score_members(results, models, config, runs_dir=runs_dir, weights=member_weights,
                                         test_images=test_images, many_crop_images=many_crop_images,
                                         crop_counts=crop_counts)
subset = settings.subset
rows_all, rows_subset = outcomes(settings.every_image, targets), outcomes(settings.on_subset, targets[subset])
caveats = claims.table3_caveats(crop=config.crop, square=config.dataset in SQUARE,
                                one_model_top1=float(rows_all[(1, 1)](list(range(len(models)))).mean()))
findings_all, findings_subset = (claims.table3(rows, len(models), network=config.describe(), caveats=caveats)
                                 for rows in (rows_all, rows_subset))
ours = table3(settings.on_subset, targets[subset])
side_by_side = chapter.table3_with_paper(ours)
figures.glue_values({"test_images": f"{len(targets):,}", "subset_images": f"{len(subset):,}",
                     "members": str(len(models)), "resize_ratio": f"{test_resize_ratio(config.crop):.3g}"})

# %% [markdown]
# ## Table 3 in miniature
#
# The first table scores all {glue:text}`test_images` test images with one model or all {glue:text}`members`, each
# with 1 and 10 crops; the second scores {glue:text}`subset_images` of them (evenly spaced) with every crop setting,
# the 144 crops included, whose cost in forward passes is too high for the whole split on this machine. "One model"
# is each member alone, its error averaged over the {glue:text}`members` members: the first member alone would be one
# draw of a network that a rebuild trains anew, and single networks trained this briefly differ by several points.
# Every row of a table scores the same images with the same members, so each change against one model with one crop
# is paired on both. Its 95% interval, and each error's, is for the expected value over trainings of the members and over test
# images (`reproduce.analysis.findings.members_and_images`): the spread over the members comes from leaving each out in turn
# (the jackknife), the spread over the images from their standard error, and the two together take Student's t with
# one degree of freedom fewer than members. The centre crop and the ten crops first resize the shorter side of the
# image to {glue:text}`resize_ratio` times the crop side, the geometry the members were trained at
# (`test_resize_ratio(crop)`): 256/224 after training on random crops, the standard single-crop evaluation, and 1
# after training on whole images. Cost is the number of forward passes per image.
#

# %% tags=["hide-input"]
chapter.table3_intervals(rows_all, len(models), findings_all).style.hide(axis="index")

# %% tags=["hide-input"]
chapter.table3_intervals(rows_subset, len(models), findings_subset).style.hide(axis="index")

# %% [markdown]
# The same subset beside the paper's Table 3, which reports top-5 error on 1,000 classes; with the embedded
# data's 10 classes top-5 is nearly always right, so top-1 error is the column to compare:

# %% tags=["hide-input"]
chapter.style_table3(side_by_side)

# %% tags=["hide-input"]
fig = figures.error_vs_cost(side_by_side)
figures.glue_figure("fig_error_cost", fig)

# %% [markdown]
# ```{glue:figure} fig_error_cost
# :name: fig-error-cost
#
# Error against cost (forward passes per image, log scale): this book's top-1 error on the embedded data (left) and
# the paper's top-5 error on the ILSVRC 2014 validation set (right).
# ```

# %% tags=["hide-input"]
found = claims.table3_together(findings_all, findings_subset)  # the 144 crops: on the subset only
figures.glue_figure("fig_table3_findings", figures.findings(found))
# the reproduction report's numbers: the rows on the subset, which holds every crop setting
figures.glue_values(chapter.table3_report_values(rows_subset, len(models), findings_subset))
glue("findings", findings_json(found), display=False)  # compared across builds
Markdown("\n\n".join([*(f.sentence() for f in found), *(f"Of this design: {c}." for c in caveats.values() if c),
                      chapter.paper_table3_changes()]))

# %% [markdown]
# ```{glue:figure} fig_table3_findings
# :name: fig-table3-findings
#
# Each row of Table 3 against one model with one crop: the change of top-1 accuracy, paired on the same test images and
# members, with its 95% interval over both (green: supports Section 7's claim, grey: inconclusive, red: contradicts it).
# ```

# %% [markdown]
# Two things about the embedded data bear on the crops. Its images are square, so the left, centre and right squares of
# every scale coincide, and the 144 crops hold 48 different views, each three times (the cost still counts 144 forward
# passes, as a square ImageNet photograph would). And with `crop=False` the members were trained on whole images
# resized to the input size: the centre crop is then the whole test image, the way training showed images, the ten
# crops are the whole image and its mirror image five times each, and of the 144 crops, cut at the paper's fixed
# scales, only the 24 "whole square" crops show an image at the scale of training; the other 120 enlarge it by 8/7 to
# 11/7.

# %% [markdown]
# ## Mean or max over the crops
#
# The paper averages the probabilities over the crops and the models: "we analyzed alternative approaches on the
# validation data, such as max pooling over crops and averaging over classifiers, but they lead to inferior performance
# than the simple averaging". The same probabilities, combined with the max over the crops instead of the mean:

# %% tags=["hide-input"]
pooling, max_worse = chapter.pooling_table(ours, table3(settings.on_subset, targets[subset], reduce="max"))
glue("max_worse", max_worse, display=False)
chapter.style_pooling(pooling)

# %% [markdown]
# The max is worse than the mean in {glue:text}`max_worse` of these settings, on the {glue:text}`subset_images`
# images of the second table (one sample of images; the differences are not paired tests).

# %% [markdown]
# ## Training and running seven models at once
#
# An ensemble can be run as a loop over its members or as one vectorized call: `torch.func.stack_module_state` stacks
# the members' weights and `torch.vmap` runs them together (`Ensemble(method="vmap")` for inference,
# `StackedEnsemble` for training, which trains every member on its own batch in one step and is tested to take the
# same steps as the members alone). Which is faster depends on the device, so it is measured here, on this machine,
# with the members' architecture:

# %% tags=["hide-input"]
speeds = ensemble_comparison(config, members=len(models), batch_size=speed_test_batch or config.batch_size)
figures.glue_values({"train_ratio": f"{speeds['train_stacked_vs_loop']:.2f}",
                     "inference_ratio": f"{speeds['inference_vmap_vs_loop']:.2f}"})
chapter.style_speeds(speeds)

# %% [markdown]
# Stacked training runs at {glue:text}`train_ratio` times the speed of the loop, vectorized inference at
# {glue:text}`inference_ratio` times; `train_ensemble` trains the members one after another and `predict` runs them in
# a loop, the faster way where these numbers are below one. On a GPU, where one small network leaves most of the
# device idle, the stacked forms can win; `benchmarks/ensemble.py` measures both on any machine.

# %% tags=["hide-input"]
figures.glue_values({"eval_minutes": f"{(time.perf_counter() - started) / 60:.1f}",
                     "eval_device": str(next(models[0].parameters()).device)})
chapter.evaluation_times(len(models), shared_epochs, train_seconds, settings).style.format({"seconds": "{:.0f}"}).hide(
    axis="index")

# %% [markdown]
# The notebook took {glue:text}`eval_minutes` minutes on {glue:text}`eval_device`.
