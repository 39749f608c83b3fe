# ---
# jupyter:
#   html_theme.sidebar_secondary.remove: true
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,text//py:percent
#     notebook_metadata_filter: html_theme.sidebar_secondary.remove
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
# # Going Deeper with Convolutions, reproduced
#
# This book reproduces GoogLeNet, the network of "Going Deeper with Convolutions" {cite}`szegedy2015going`, which won
# the ILSVRC 2014 classification challenge with a top-5 error of 6.67%. Its chapters follow the paper's sections, and
# each is backed by a notebook that calls a small Python package, `reproduce`, for the model and everything computed
# from it. What the paper states and code can check, the notebooks check: the pages you read were executed when the
# book was built.

# %% tags=["parameters"]
results_dir = "../results"  # the results of the run this page reports on (python -m reproduce book writes them)

# %% tags=["hide-input"]
from pathlib import Path

from IPython.display import Markdown

from reproduce.book import runner, summary

results = runner.read_results(results_dir) if Path(results_dir).is_dir() else {}
found = summary.front_table(results)

# %% [markdown]
# ## What this build found
#
# Each claim of the paper (and, last, of its successors) that the book tests on trained networks, the network it
# was tested on as it was trained, the change of top-1 accuracy it measured in points with its 95% interval, the
# verdict that interval allows, and what of the design bears on it. "Inconclusive" says that this budget cannot
# resolve the claim, not that it is false; the networks are miniatures of the paper's, so a verdict is on them.

# %% tags=["hide-input"]
if len(found):
    verdicts = found["verdict"].value_counts()
    display(found.style.hide(axis="index"))
    text = f"{len(found)} findings: " + ", ".join(f"{count} {verdict}" for verdict, count in verdicts.items()) + "."
else:
    text = (f"This page was executed without the results of a run (there is no `{results_dir}`), so it has no "
            "findings to list; `python -m reproduce book --params params/cpu.yml --out runs/book-cpu` executes every "
            "chapter and then this page.")
Markdown(text)

# %% [markdown]
# The {doc}`reproduction report <report>` lists the findings with what each chapter measured, and each chapter shows
# how its own were measured.
#
# ## What is here
#
# - **Motivation** (paper Sections 1 to 3): the budget of 1.5 billion multiply-adds and where it goes, why simply
#   widening a network costs quadratically more, the sparse-structure argument behind the inception module, what the
#   1x1 reductions save in every branch, how large a patch of the image each branch sees, and the paper's central
#   claim tested on a miniature.
# - **Architecture** (paper Sections 4 and 5): the network of Table 1 built layer for layer, and Table 1 recomputed
#   from it, parameters and multiply-adds of every row beside the printed ones, with the places where the paper
#   disagrees with its own filter counts explained. Also the cost of the naive inception module of Figure 2(a), the
#   tensor shapes through the network, and how to initialize a network this deep without batch norm.
# - **Data and training** (paper Section 6): the data set this book generates itself (ten shape classes at scales
#   4x apart, with nuisances a classifier must ignore), the paper's augmentation on a real photo, a linear baseline,
#   and GoogLeNet trained on the CPU: main and auxiliary losses, Polyak-averaged weights against raw ones, and the
#   auxiliary heads on and off.
# - **Evaluation** (paper Section 7): the paper's 144 crops of a test image, cut exactly as described and shown for a
#   landscape and a portrait photograph; an ensemble of seven networks trained on the embedded data; and Table 3
#   rebuilt in miniature beside the paper's, with its error against cost.
# - **Do larger kernels matter more with depth?** Section 4's argument that the share of 3x3 and 5x5 convolutions
#   should grow in higher layers, tested on trained networks: each branch's share of its module's output and the
#   accuracy lost without it, against depth and against the channels Table 1 gives it, with a verdict.
# - **Beyond v1** (Inception-v2 and v3): batch norm, the 5x5 convolution factorized into two 3x3, label smoothing,
#   a batch-normalized auxiliary head and no auxiliary heads at all, added one at a time to the paper's network and
#   trained on equal budgets, with their costs counted.
# - **Reproduction report**: what the book reproduces exactly (the network and its costs, Table 1 audited), what it
#   reproduces in miniature (training, crops, ensembles, with the numbers this build measured), and what needs
#   ImageNet and GPUs.
#
# ## Running it yourself
#
# The book builds on a 2-core CPU in minutes (`params/cpu.yml`), and the same notebooks take parameters, so
# they run again at full size on a GPU with CIFAR-100 or ImageNet. {doc}`../book/running` gives the commands, and the
# {doc}`reproduction report <report>` collects what this build measured, chapter by chapter. The
# {doc}`performance appendix <performance>` measures how fast the code runs, against torchvision's GoogLeNet and
# against the machine's own matrix-multiply peak.
#
# ## The model in one line
#
# ```python
# from reproduce import googlenet, table1
#
# model = googlenet()   # the paper's network: 6,998,552 parameters, 13,378,280 with the auxiliary heads
# print(table1())       # Table 1, recomputed from the model
# ```
