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
# # Training GoogLeNet on the embedded data
#
# This notebook trains GoogLeNet with the recipe of Section 6 of {cite}`szegedy2015going` (`reproduce.training`) and
# checks two of the paper's claims about it: that the auxiliary classifiers of Section 5 help the main one, and that
# Polyak averaging of the weights gives a better model for inference. Each claim is a comparison over several seeds
# (the parameter `seeds` sets how many runs of each configuration), reported with its 95% interval; a direction is
# stated only where the interval excludes zero (`reproduce.analysis.findings`). It also measures the paper's optimizer, SGD
# with momentum, against the AdamW that the CPU defaults use. Its defaults fit the 2-core CPU that builds this book;
# the same notebook, given a `config` that names the data set, its folder and full sizes, is the GPU rerun (for example
# `papermill training.ipynb out.ipynb -y "config: {dataset: cifar100, data_root: ~/data, width: 1.0}"`).

# %% tags=["parameters"]
# The defaults are a small run of every part (minutes); the book's sizes are in params/cpu.yml.
config = {}  # what the runs change of the book's TrainConfig (reproduce.training.BOOK_CONFIG), by field name
seeds = 2  # runs of each configuration compared (seeds config's seed, seed + 1, ...)
sgd_lrs = [0.01]  # the paper's SGD at these learning rates (first seed); the best with every seed
augmentation_run = True  # one run with the paper's augmentation (first seed)
runs_dir = None  # a folder to keep checkpoints in (an interrupted run then resumes); None: in memory only

# %% tags=["hide-input"]
import time

import pandas as pd
from IPython.display import Markdown
from myst_nb import glue

from reproduce.book import claims, figures, formatting
from reproduce.book.chapters import training as chapter
from reproduce.analysis.findings import findings_json, mean_over_seeds
from reproduce.training import book_config
from reproduce.training.ablation import run_name, train_with_best_sgd, training_chapter_runs
from reproduce.training.loop import score_runs

figures.use_book_style()
base = book_config(config)
display(Markdown(formatting.config_summary(base)))
runs = training_chapter_runs(base, seeds=seeds, sgd_lrs=sgd_lrs if base.optimizer != "sgd" else [],
                             augmentation=augmentation_run)
figures.glue_values({"seeds": str(seeds)})

# %% [markdown]
# ## The runs
#
# GoogLeNet with both auxiliary heads and the same network without them are trained with {glue:text}`seeds` seeds
# each (the parameter `seeds`); a seed sets the initialization, the order of the images, the augmentation and the
# dropout. Seeds of different configurations are uncorrelated, so each comparison is the difference of the means
# over seeds with a pooled two-sample Student-t interval, fixed before the runs (`reproduce.analysis.findings.two_samples_over_seeds`). Besides these, the paper's SGD
# (momentum 0.9) is trained at each learning rate of `sgd_lrs` (if any) with the first seed, its best rate then with
# every seed, and, with `augmentation_run`, one run with the paper's augmentation. Every run has the same budget: the
# same images, epochs and schedule.

# %% tags=["hide-input", "remove-output"]
started = time.perf_counter()
# each kept by what it is in runs_dir, shared between notebooks; the best SGD rate then with every seed
results, seconds, best_lr = train_with_best_sgd(runs, base, sgd_lrs, seeds=seeds, runs_dir=runs_dir)
scores = pd.DataFrame(score_runs(results))
steps, history = formatting.run_frames(results)

# %% [markdown]
# ## Main and auxiliary losses
#
# {numref}`fig-losses` shows the three losses of the first seed's run with auxiliary heads, and the main loss of the
# run without them. The total loss that training minimizes is the main loss plus 0.3 times each auxiliary loss.

# %% tags=["hide-input"]
first = [run_name("GoogLeNet", 0), run_name("without auxiliary heads", 0)]
fig = figures.loss_curves(steps[steps["run"].isin(first)])
figures.glue_figure("fig_losses", fig)


# %% [markdown]
# ```{glue:figure} fig_losses
# :name: fig-losses
#
# Training losses (cross-entropy, a rolling mean) of the main classifier and of the two auxiliary classifiers on
# inception 4a and 4d, first seed.
# ```

# %% [markdown]
# ## The auxiliary heads and Polyak averaging
#
# Every run is scored on the test split, which no run has seen, with its raw weights and with their Polyak average
# (an exponential moving average with a time constant of `polyak_epochs` epochs). Each claim compares two
# configurations' means over their seeds, with the pooled two-sample interval named above.

# %% tags=["hide-input"]
def top1(label, weights="Polyak"):
    return chapter.top1_per_seed(scores, label, weights)


compared = [run_name(label, k) for label in ("GoogLeNet", "without auxiliary heads") for k in range(seeds)]
caveat = claims.convergence_caveat([results[name].history for name in compared])
training_findings = claims.training({"heads, Polyak": top1("GoogLeNet"), "heads, raw": top1("GoogLeNet", "raw"),
                                     "no heads, Polyak": top1("without auxiliary heads")},
                                    network=base.describe(), caveat=caveat)
n_test = formatting.test_split_size(base)
glue("n_test", f"{n_test:,}", display=False)
for key, label, kind in (("test_top1", "GoogLeNet", "Polyak"), ("test_top1_raw", "GoogLeNet", "raw"),
                         ("test_top1_noaux", "without auxiliary heads", "Polyak")):
    glue(key, mean_over_seeds(top1(label, kind)).text(unit="%"), display=False)
chapter.style_seed_summary(chapter.seed_summary(scores, n_test))

# %% [markdown]
# Each row: a configuration's test top-1 on the {glue:text}`n_test` test images, the mean over its seeds with a 95%
# interval (Student's t; a configuration run with one seed shows its one value).

# %% tags=["hide-input"]
fig = figures.findings(training_findings)
figures.glue_figure("fig_training_findings", fig)
glue("findings", findings_json(training_findings), display=False)  # compared across builds
Markdown("\n\n".join(f.sentence() for f in training_findings) + (f"\n\nIn these runs {caveat}." if caveat else ""))

# %% [markdown]
# ```{glue:figure} fig_training_findings
# :name: fig-training-findings
#
# The two claims over {glue:text}`seeds` seeds: each difference of test top-1 with its 95% interval. Green: the
# interval supports the claim; red: it contradicts it; grey: it includes zero.
# ```
#
# Section 4 of the Inception-v3 paper {cite}`szegedy2016rethinking` reports that the auxiliary classifiers did not
# speed up early training and act as regularizers near the end of a long run; the runs here are short, so they say
# what the heads do at this budget only.

# %% [markdown]
# ## The paper's optimizer
#
# The paper trained with "asynchronous stochastic gradient descent with 0.9 momentum". With `sgd_lrs` set, this
# notebook trains it at each of those learning rates and compares it with the main runs at the same budget; the
# book's build sets none, because at its budget SGD has not left the plateau near chance (measured below).

# %% tags=["hide-input"]
optimizer_table = chapter.optimizer_summary(scores, base, best_lr)
if len(optimizer_table):
    display(chapter.style_seed_summary(optimizer_table))

# %% tags=["hide-input"]
Markdown(chapter.optimizer_text(scores, base, best_lr))

# %% [markdown]
# How many steps the book's runs need, and what SGD needs, was measured before the book's sizes were chosen
# (`benchmarks/convergence.py`, which writes `benchmarks/results/convergence.json`): groups of two or three seeds of
# the book's configuration with one or two options changed, each run the `train` these chapters call, in float32,
# scored on 500 validation images with its Polyak-averaged weights. The runs are independent, so they were spread over
# the processes of a GPU, which the file names; on this book's 2-core CPU the same runs take hours.
# {numref}`fig-convergence` shows every group against the number of steps it trained for.

# %% tags=["hide-input"]
steps_trained = results[run_name("GoogLeNet", 0)].history[-1]["steps"]
convergence_runs, convergence_table, text = chapter.convergence_section(
    "../benchmarks/results/convergence.json", steps_trained)  # written by benchmarks/convergence.py
figures.glue_figure("fig_convergence", figures.convergence(convergence_runs, steps=steps_trained))

# %% [markdown]
# ```{glue:figure} fig_convergence
# :name: fig-convergence
#
# Validation top-1 (Polyak-averaged weights, 500 validation images) of every group of `benchmarks/convergence.py`
# against the number of training steps: one line per configuration through the mean over its seeds, each seed's run a
# small point; dotted, the steps this build trains. The numbers are in the table below the text.
# ```

# %% tags=["hide-input"]
Markdown(text)

# %% tags=["remove-input", "hide-output"]
if convergence_table is not None:
    display(chapter.style_convergence(convergence_table))

# %% tags=["hide-input"]
Markdown(chapter.augmentation_sentence(scores, run_name("paper's augmentation", 0), run_name("GoogLeNet", 0)))

# %% tags=["hide-input"]
total = time.perf_counter() - started
glue("train_minutes", f"{total / 60:.1f}", display=False)
glue("runs", str(len(results)), display=False)
glue("device", str(results[run_name("GoogLeNet", 0)].model.fc.weight.device), display=False)
chapter.style_run_times(chapter.run_times(results, seconds))

# %% [markdown]
# The {glue:text}`runs` runs took {glue:text}`train_minutes` minutes on {glue:text}`device` (the table gives each
# run's share and its training throughput).
