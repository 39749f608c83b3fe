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
# # Appendix: performance
#
# A reproduction that runs slower than the reference implementation costs everyone who reruns it, on a laptop or on a
# GPU box. This appendix measures the code of `reproduce` against two references: torchvision's GoogLeNet
# (`torchvision.models.googlenet`) run the plain way, eager, in the default NCHW memory format and fp32, and the
# machine's own fp32 matrix-multiply peak. The model of `reproduce` that is compared is its torchvision-compatible
# preset (`googlenet_torchvision()`), whose state_dict is torchvision's key for key, so both sides do the same
# arithmetic and only the way it runs differs.
#
# Every comparison times both sides in alternating rounds, in one run on one machine, and keeps the median of each
# (`reproduce.perf`): the ratios are the result, the bare rates describe only that machine. The numbers on this page
# come from `benchmarks/throughput.py` (`make bench`), committed as `benchmarks/results/performance.json`. The book
# reads that file rather than rerunning the benchmark, which takes about eight minutes and would compete with the
# chapters for the cores. On a GPU the same command uses CUDA with bf16 autocast, channels_last and cuDNN autotuning
# (the training loop's settings there); rebuilding the book afterwards shows that machine's numbers here.

# %% tags=["parameters"]
results = "../benchmarks/results/performance.json"  # written by benchmarks/throughput.py

# %% tags=["hide-input"]
import json
from pathlib import Path

from IPython.display import Markdown
from myst_nb import glue

from reproduce.book import figures
from reproduce import perf

figures.use_book_style()
result = json.loads(Path(results).read_text())
table = perf.targets_table(result)
text = perf.findings(result)
tables = perf.tables(result)
glue("targets_met", f"{(table['met'] == 'yes').sum()} of {len(table)}", display=False)
Markdown(perf.machine_line(result))

# %% [markdown]
# ## The targets
#
# What `reproduce` set out to reach on the 2-core CPUs this book is built on: training at least 1.3x and inference at
# least 1.6x as fast as torchvision's eager NCHW GoogLeNet; training at 80% and inference at 70% of the fp32
# matrix-multiply peak, in FLOPs as `torch.utils.flop_counter` counts them (convolutions and matrix products, a
# multiply-add being two); the 144 crops of Section 7 {cite}`szegedy2015going` cut with at most 10% overhead over the
# model's own time, and at least 5x as fast as a loop that cuts and classifies one crop at a time.
# {glue:text}`targets_met` are met on the machine named above.

# %% tags=["hide-input"]
table.style.hide(axis="index")

# %% [markdown]
# The speed over torchvision comes from the memory format. `reproduce` keeps images and weights in channels_last
# (NHWC), the layout in which oneDNN, the CPU's convolution library, runs its fastest kernels without reordering the
# tensors around every convolution, and in which its pooling is vectorized over the channels; on a GPU, cuDNN's
# tensor-core kernels prefer it too. Inference gains more than training: most of a training step is backward
# convolutions, which gain less from the layout than the forward ones and the pooling.
#
# ## Throughput and the peak

# %% tags=["hide-input"]
fig = figures.performance(result)
figures.glue_figure("fig_performance", fig)

# %% [markdown]
# ```{glue:figure} fig_performance
# :name: fig-performance
#
# Left: images per second of torchvision's GoogLeNet (eager NCHW) and of `reproduce`'s torchvision-compatible one, for
# a training step (forward with both auxiliary heads, the loss of Section 5, backward, SGD with momentum) and for
# inference, at ImageNet's 224 px and the book's 64 px; the ratios are written on the bars. Middle: the FLOP/s that
# `reproduce` reaches as a share of the fp32 matrix-multiply peak, with the targets. Right: crops per second of the
# 144-crop evaluator, of the model alone on the same crops already cut, and of a loop that cuts and classifies one
# crop at a time (log scale).
# ```
#
# ## Where a training step's time goes
#
# A training step cannot reach the matrix-multiply peak when part of its time goes to work that multiplies nothing.
# `torch.profiler` splits the step by operator ({numref}`fig-training-profile`):

# %% tags=["hide-input"]
fig = figures.training_profile(result["training_profile"])
figures.glue_figure("fig_training_profile", fig)
Markdown(text["profile"])

# %% [markdown]
# ```{glue:figure} fig_training_profile
# :name: fig-training-profile
#
# The self time of every operator of a training step of `reproduce`'s torchvision-compatible GoogLeNet, grouped.
# Convolutions and matrix products are the work the FLOP counter counts; the rest moves memory.
# ```
#
# Closing the gap would take fusing the memory-bound work into the convolutions: batch norm and ReLU into the
# convolution's epilogue, and the branch outputs written straight into the concatenated tensor. Eager PyTorch does
# not do that for a training step on the CPU; whether compiling does is measured next.
#
# ## Compiling
#
# `torch.compile` fuses element-wise work and, for inference, can fold batch norm into the convolutions, but it costs
# compile time, which is reported apart:

# %% tags=["hide-input"]
if "compile" in tables:
    display(tables["compile"].style.hide(axis="index"))
Markdown(text.get("compile", "The benchmark was run without the compile timing (`--no-compile`)."))

# %% [markdown]
# ## Ensembles and data
#
# Section 7's ensemble has seven members. They can run one by one, or together in one vectorized call
# (`torch.func.vmap` over their stacked weights; `StackedEnsemble` for training, `Ensemble(method="vmap")` for
# inference). The book's members have a quarter of the width and take 64 px images.

# %% tags=["hide-input"]
display(tables["ensemble"].style.hide(axis="index"))
Markdown(text["ensemble"])

# %% [markdown]
# The embedded data set is rendered once, when a data set is made, and augmented on every epoch; the training
# step of the book's network (width 0.25, 64 px, batches of 64) consumes it.

# %% tags=["hide-input"]
display(tables["data"].style.hide(axis="index"))
Markdown(text["data"])
