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
# # Beyond v1: the Inception-v3 changes, one at a time
#
# Table 3 of the Inception-v3 paper {cite}`szegedy2016rethinking` is an ablation: each row adds one change to the
# network of the row above and reports single-crop error, on the 48,238 images of the ILSVRC 2012 validation set
# that are not blacklisted, and cost. This notebook builds the same kind of
# table for the changes of Inception-v2/v3 that apply to GoogLeNet itself, on the embedded data set: batch
# normalization {cite}`ioffe2015batch`, the 5x5 convolutions factorized into two 3x3, label smoothing, and
# batch-normalized auxiliary heads, then the same network without auxiliary heads. Every run has the same training
# budget: the same images, epochs, schedule and optimizer, and every row is trained with {glue:text}`seeds` seeds (the
# parameter `seeds`), run *k* of each row with seed *k* (`reproduce.training.ablation`), so that each change is
# measured over seeds with a 95% interval: a pooled two-sample Student-t over the two rows' seeds, chosen before the
# runs because the seeds of different rows are uncorrelated (the Training chapter). Its defaults fit the 2-core CPU that builds this book; with a `config`
# that names the data set, its folder and full sizes it is the GPU rerun (for example
# `papermill beyond.ipynb out.ipynb -y "config: {dataset: cifar100, data_root: ~/data, width: 1.0, epochs: 30}"`).

# %% tags=["parameters"]
# The defaults are a small run of every part (minutes); the book's sizes are in params/cpu.yml.
config = {}  # what every row changes of the book's TrainConfig (reproduce.training.BOOK_CONFIG), by field name
rows = None  # the rows to train, by name (reproduce.training.ablation.STEPS); None: all six
weights = "raw"  # the weights scored on the test split: "raw", or "polyak" (their Polyak average)
paper_lrs = [5e-4]  # the paper's network (row 1) also at these learning rates, first seed: is lr what it lacks?
seeds = 2  # runs of every row (seeds config's seed, seed + 1, ...)
runs_dir = None  # a folder to keep checkpoints in (an interrupted run then resumes); None: in memory only

# %% tags=["hide-input"]
import time

from IPython.display import Markdown
from myst_nb import glue

from reproduce.book import claims, figures, formatting
from reproduce.book.chapters import beyond as chapter
from reproduce.analysis.findings import findings_json, mean_over_seeds
from reproduce.training import book_config, inception_v3_ablation, score_split, train_runs
from reproduce.training.ablation import STEPS, ablation_runs, run_name

figures.use_book_style()
started = time.perf_counter()
base = book_config(config)
display(Markdown(formatting.config_summary(base)))
runs = ablation_runs(base, rows, seeds=seeds)
rows_trained = list(inception_v3_ablation(base, rows))
paper_row = inception_v3_ablation(base)[STEPS[0].name]
lr_runs = {run_name(f"{STEPS[0].name} at lr {lr:g}", 0): paper_row.replace(lr=lr) for lr in paper_lrs}

# %% [markdown]
# ## Six rows, one change each
#
# 1. **GoogLeNet (paper)**: the network of Table 1 with the stem of Figure 3 (local response normalization, no batch
#    norm), real 5x5 convolutions and both auxiliary heads.
# 2. **+ batch norm**: a batch normalization between every convolution and its ReLU, which replaces the LRN
#    {cite}`ioffe2015batch`.
# 3. **+ factorized 5x5**: the 5x5 convolution of every inception module becomes two stacked 3x3 convolutions, each
#    followed by batch norm and a ReLU (Section 3.1 of {cite}`szegedy2016rethinking`; the first 3x3 already has the
#    branch's output width, as in BN-Inception).
# 4. **+ label smoothing**: the targets of every loss are 0.9 on the label plus 0.1 spread uniformly over the classes
#    (Section 7).
# 5. **+ BN-auxiliary**: the fully connected layer of each auxiliary head is batch-normalized too, not only its
#    convolution (Table 3's last row).
# 6. **no auxiliary heads**: row 2 without its auxiliary heads (Section 5 of the paper adds them to help the main
#    classifier; Section 4 of the v3 paper calls them regularizers). It is the Training chapter's network without
#    heads, so the book trains it once for both chapters.
#
# Each row differs from the row it changes in exactly one field of its `TrainConfig` (a test checks it), and every
# other field, the budget included, is the base configuration's.

# %% tags=["hide-input", "remove-output"]
results, _ = train_runs({**runs, **lr_runs}, runs_dir)  # each kept by what it is in runs_dir, shared between notebooks
train_seconds = time.perf_counter() - started

# %% tags=["hide-input"]
n_test = formatting.test_split_size(base)
models = {name: (r.model if weights == "raw" else r.best_model()) for name, r in results.items()}
tests = {name: score_split(model, results[name].config, "test") for name, model in models.items()}
steps, history = formatting.run_frames({name: results[name] for name in runs})
table = chapter.ablation_table({name: results[name] for name in runs}, tests)
top1 = {row: [tests[run_name(row, k)]["top1"] for k in range(seeds)] for row in rows_trained}
caveat = claims.convergence_caveat([results[name].history for name in runs])
networks = {row: trained.describe() for row, trained in inception_v3_ablation(base, rows).items()}
found = claims.ablation(top1, networks=networks, caveat=caveat)
glue("tbl_ablation", chapter.style_ablation(table), display=False)
glue("n_test", f"{n_test:,}", display=False)
glue("seeds", str(seeds), display=False)
glue("train_images_seen", f"{table['images'].iloc[0]:,}", display=False)
glue("weights", "raw weights" if weights == "raw" else "Polyak-averaged weights", display=False)
for step, key in ((STEPS[0], "top1_paper"), (STEPS[1], "top1_bn"), (STEPS[4], "top1_v3"), (STEPS[5], "top1_no_aux")):
    glue(key, mean_over_seeds(top1[step.name]).text(unit="%") if step.name in top1 else "", display=False)

# %% [markdown]
# ## The table
#
# Every run saw {glue:text}`train_images_seen` training images. Top-1 and top-5 are measured on the
# {glue:text}`n_test` images of the test split, which no run has seen, with the {glue:text}`weights` of each run and
# one centre crop, and averaged over the row's {glue:text}`seeds` seeds; the interval is Student's t over the seeds.
# "vs row before" is the change from the row that the row modifies (the difference of the means over seeds), with
# its pooled two-sample interval and the verdict
# on the v3 paper's claim for that change (supports, contradicts, or inconclusive where the interval includes zero).
# Parameters and multiply-adds are those of the network used at inference (no auxiliary heads, one image), counted
# with `reproduce.analysis.costs`. Seconds are the training time of the row's runs together (runs another chapter trained count their own
# training), images/s their training throughput.
#
# ```{glue:figure} tbl_ablation
# :name: tbl-ablation
#
# The Inception-v3 changes on GoogLeNet, one at a time, with equal training budgets, each row over its seeds.
# ```

# %% tags=["hide-input"]
chance = 1 / next(iter(results.values())).model.fc.out_features
fig = figures.ablation_curves(steps, history, table, chance=chance)
figures.glue_figure("fig_ablation", fig)

# %% [markdown]
# ```{glue:figure} fig_ablation
# :name: fig-ablation
#
# The six rows. Left: training loss of the main classifier for each row's first seed (a rolling mean); label
# smoothing raises the loss it minimizes, so rows 4 and 5 sit higher for the same predictions. Right: test top-1 (the mean
# over seeds with its 95% interval) against the multiply-adds of one image at inference; rows 3-5 share one network at
# inference and so one cost, and row 6 has row 2's. The dotted line is chance.
# ```
#
# ## What the v3 paper claims, and what this budget shows
#
# Every sentence below is generated from the findings (`reproduce.book.claims.ablation`): each row against the row it
# changes, over the seeds, with a Student-t interval that covers both the noise of training (initialization, order of
# the images, dropout) and that of the test set.

# %% tags=["hide-input"]
fig = figures.findings(found)
figures.glue_figure("fig_beyond_findings", fig)
glue("findings", findings_json(found), display=False)  # compared across builds
Markdown(chapter.learning_sentence(table, chance, threshold=0.5))

# %% [markdown]
# ```{glue:figure} fig_beyond_findings
# :name: fig-beyond-findings
#
# Each change against the row before it, test top-1 over the seeds with its 95% interval (green: supports the v3
# paper's claim, red: contradicts it, grey: inconclusive).
# ```

# %% tags=["hide-input"]
Markdown("\n\n".join(f.sentence() for f in found) + (f"\n\nIn these runs {caveat}." if caveat else ""))

# %% [markdown]
# The paper's network, the only row without batch norm, is also trained at the learning rates of
# `paper_lrs` with the first seed (one sample each): whether it stays at chance because of its learning rate.
# Ioffe and Szegedy introduced batch norm as what lets a network train at higher learning rates; the table says
# whether, at this budget, the network without it needs a lower one.

# %% tags=["hide-input"]
if lr_runs:
    display_table = chapter.style_paper_lr_table(chapter.paper_lr_table(results, tests, [run_name(STEPS[0].name, 0),
                                                                                       *lr_runs]))
else:
    display_table = Markdown("No other learning rate was tried for the paper's network (`paper_lrs=[]`).")
display_table

# %% [markdown]
# These runs are short: the same few hundred steps each on the embedded data, chosen so that the nine chapters fit a
# 2-core CPU. What they show with confidence is the cost side (parameters, multiply-adds and images per second are
# counted and measured, not sampled) and the findings whose intervals exclude zero; an inconclusive finding says that
# this budget cannot resolve the change, not that the change does nothing. A GPU rerun with full-size parameters
# turns the same notebook into the real ablation.

# %% tags=["hide-input"]
total = time.perf_counter() - started
glue("beyond_minutes", f"{total / 60:.1f}", display=False)
glue("beyond_train_minutes", f"{train_seconds / 60:.1f}", display=False)
glue("beyond_device", str(next(next(iter(results.values())).model.parameters()).device), display=False)

# %% [markdown]
# The notebook took {glue:text}`beyond_minutes` minutes on {glue:text}`beyond_device`, of which the trainings took
# {glue:text}`beyond_train_minutes` (each run's share is in the table).
