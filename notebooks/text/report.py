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
# # Reproduction report
#
# What this book reproduces of {cite}`szegedy2015going`, and how closely. The first part needs no training and is
# computed on this page. The second part collects the numbers that the other chapters' notebooks computed when this
# book was built: `python -m reproduce book` executes every notebook with one parameter set, records what each one
# glued into its page in `RUN/results/<notebook>.json` with its parameters, commit, device and wall time, and runs this
# notebook last, from those records. The third part is what needs ImageNet and GPUs, and how to run it.

# %% tags=["parameters"]
results_dir = "../results"  # the results of the run this page reports on (python -m reproduce book writes them)
params_dir = "../params"  # the parameter sets listed under "What needs ImageNet and GPUs"

# %% tags=["hide-input"]
from pathlib import Path

import pandas as pd
import yaml
from IPython.display import Markdown
from myst_nb import glue

from reproduce.book import figures, runner, summary

figures.use_book_style()
results = runner.read_results(results_dir) if Path(results_dir).is_dir() else {}

# %% [markdown]
# ## Reproduced exactly
#
# The network, its costs and the test-time crops follow from the paper's text and tables alone. Each statement below
# is checked against the model `reproduce` builds and the crops it cuts; where they disagree, the Architecture chapter
# ({doc}`architecture`) shows why the paper's number is the one that is off.

# %% tags=["hide-input"]
exact = summary.exact_checks()
agreeing = int(exact["agrees"].sum())
glue("exact_agree", f"{agreeing} of {len(exact)}", display=False)
exact.style.format({"paper": "{:,.0f}", "this book": "{:,.0f}", "agrees": lambda v: "yes" if v else "no"}).hide(
    axis="index")

# %% [markdown]
# {glue:text}`exact_agree` statements agree within 1%. The others are the places where Table 1 disagrees with its own
# filter counts: its first row prints the cost of a depthwise-separable convolution where BVLC Caffe's released
# model has a dense one (the paper says only "convolution"), its parameters column does not follow from its filter
# counts, and it prints 54M multiply-adds for inception (5a), which its filters do not give.

# %% [markdown]
# ## Reproduced in miniature
#
# Training, the 144 crops and the ensemble of seven need ImageNet to reproduce the paper's numbers. On the embedded
# data set and a 2-core CPU, the book reproduces the experiments themselves at a small scale: the same procedures, the
# same comparisons, networks a quarter of the width, ten classes and minutes of training. The paper's Table 3 reports
# top-5 error on 1,000 classes; with ten classes top-1 is the informative error, so the comparison is of direction and
# relative size, not of values.

# %% tags=["hide-input"]
if results:
    reported = summary.miniature_results(results)
    display(reported.style.format(na_rep="").hide(axis="index"))
    run = results[next(iter(results))]
    message = (f"These numbers come from the run of commit `{(run['git_commit'] or 'unknown')[:12]}` on "
               f"{run['device']} with torch {run['torch']}.")
else:
    message = (f"This page was executed without the results of a run (there is no `{results_dir}`). "
               "`python -m reproduce book --params params/cpu.yml --out runs/book-cpu` executes every chapter and "
               "then this page, which then shows the numbers of each chapter here.")
Markdown(message)

# %% [markdown]
# ### The claims, checked
#
# Each chapter states the paper's claims it can test as findings: a difference, its 95% interval (over seeds for
# claims about training, paired over the same test images for the test-time crops and the ensemble) and the verdict
# the interval allows. "Inconclusive" says that this budget cannot resolve the claim, not that it is false.

# %% tags=["hide-input"]
claims_table = summary.findings_table(results)
if len(claims_table):
    verdicts = claims_table["verdict"].value_counts()
    display(claims_table.style.hide(axis="index"))
    text = "Verdicts: " + ", ".join(f"{count} {verdict}" for verdict, count in verdicts.items()) + "."
else:
    text = "This page was executed without the results of a run: no findings to list."
Markdown(text)

# %% [markdown]
# ## The time each chapter took
#
# Every chapter's notebook was executed when the book was built; {numref}`fig-chapter-times` gives the wall time of
# each, on the machine the results name.

# %% tags=["hide-input"]
if results:
    times = summary.chapter_times(results)
    fig = figures.chapter_times(times)
    display(times.style.format({"minutes": "{:.1f}"}).hide(axis="index"))
else:
    fig = figures.chapter_times(pd.DataFrame({"notebook": [], "minutes": []}))
figures.glue_figure("fig_chapter_times", fig)

# %% [markdown]
# ```{glue:figure} fig_chapter_times
# :name: fig-chapter-times
#
# Wall time of every chapter's notebook in the run this page reports on (the notebooks run several at a time, each
# with a share of the cores).
# ```

# %% [markdown]
# ## What needs ImageNet and GPUs
#
# The paper's own numbers need the ILSVRC 2012 images and days of GPU time: a network trained for tens of epochs on
# 1.2 million images at 224 px, seven of them for the ensemble, and 144 crops of each of the 50,000 validation images.
# The notebooks run those experiments unchanged when they are given other parameters. The parameter sets in `params/`
# hold the ones this book was designed for:

# %% tags=["hide-input"]
rows = []
for path in sorted(Path(params_dir).glob("*.yml")):
    header = [line.removeprefix("#").strip() for line in path.read_text().splitlines() if line.startswith("#")]
    sets = yaml.safe_load(path.read_text()) or {}
    rows.append({"parameter set": path.name, "notebooks with their own parameters": ", ".join(sets) or "none",
                 "what it is": " ".join(header).split(". ")[0].split(": ")[0] + "."})
pd.DataFrame(rows).style.hide(axis="index")

# %% [markdown]
# Each one runs with `python -m reproduce book --params params/NAME.yml --out runs/NAME`, and the book is then built
# from that run's executed notebooks, this page included. The "How to run it" page gives the steps.
