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
# # Why inception modules: the arithmetic of Sections 1-3
#
# Sections 1 to 3 of {cite}`szegedy2015going` argue for the inception module before they define it: a fixed budget of
# computation, the cost of simply making a network bigger, a theoretical reason to prefer sparse connections
# {cite}`arora2014provable`, and the fact that hardware computes dense blocks fast. This notebook turns each of those
# arguments into numbers counted from the network `reproduce` builds, so none of them is typed in. Its parameters change
# the input size and the widths compared (`papermill notebooks/motivation.ipynb out.ipynb -p input_size 299`).

# %% tags=["parameters"]
input_size = 224  # side of the input image of the paper's network, in pixels
widths = [0.5, 0.75, 1.0, 1.5, 2.0]  # width multipliers compared in "Why not simply make it bigger"
data_seed = 0  # which embedded images are drawn in "Several scales at once"

# %% tags=["hide-input"]
import torch
from IPython.display import Markdown
from myst_nb import glue

from reproduce.analysis import attribution, costs
from reproduce.book import figures, formatting
from reproduce.book.chapters import motivation as chapter
from reproduce import googlenet, paper
from reproduce.data import synthetic
from reproduce.analysis.findings import findings_json
from reproduce.analysis.receptive import branch_fields
from reproduce.training import BOOK_CONFIG

figures.use_book_style()
if 1.0 not in widths:
    raise ValueError(f"widths must include 1.0, the paper's network, to compare against; got {widths}")
model = googlenet()
summary = costs.summary(model, input_size)

# %% [markdown]
# ## A budget of 1.5 billion multiply-adds
#
# Section 1 sets the constraint the architecture was designed under: the models "were designed to keep a
# computational budget of 1.5 billion multiply-adds at inference time", so that they would not end up "a purely
# academic curiosity" but could be used in the real world, even on large data sets, at a reasonable cost.
# {numref}`fig-budget` shows where that budget goes in the paper's network.

# %% tags=["hide-input"]
by_stage = costs.ops_by_stage(model, input_size)
glue("total_ops", f"{summary['ops'] / 1e9:.2f}", display=False)
glue("budget_share", f"{summary['ops'] / paper.INFERENCE_MULTIPLY_ADDS:.0%}", display=False)
glue("separable_total", formatting.human(costs.table1_audit()["total_ops_separable_conv1"]), display=False)
glue("stem_share", f"{by_stage['stem'] / by_stage.sum():.0%}", display=False)
fig = figures.budget_by_stage(by_stage, paper.INFERENCE_MULTIPLY_ADDS)
figures.glue_figure("fig_budget", fig)

# %% [markdown]
# ```{glue:figure} fig_budget
# :name: fig-budget
#
# Multiply-adds per image of the paper's network at inference, by stage, counted from the model with
# `torch.utils.flop_counter`, against the 1.5 billion of Section 1 (dashed).
# ```
#
# Counted from the model, one image costs {glue:text}`total_ops` billion multiply-adds at {glue:text}`input_size`
# px, {glue:text}`budget_share` of the paper's 1.5 billion with a dense first convolution (BVLC Caffe's); the stem
# alone takes {glue:text}`stem_share`. The Architecture chapter shows that Table 1 prints the cost of a cheaper,
# depthwise-separable first convolution, with which the total is {glue:text}`separable_total` multiply-adds: the round budget fits either.

# %% tags=["remove-cell"]
glue("input_size", input_size, display=False)

# %% [markdown]
# ## Why not simply make it bigger
#
# Section 3 names the straightforward way to better networks, more depth and more width, and two drawbacks. More
# parameters overfit more easily when labelled data are limited. And computation grows fast: the multiply-adds of a
# convolution with a $k \times k$ kernel on an $H \times W$ map are
#
# $$
# \text{ops} = H \cdot W \cdot k^2 \cdot C_\text{in} \cdot C_\text{out},
# $$
#
# so if two chained convolutional layers both get $w$ times as many filters, the second sees $w$ times as many input
# channels and makes $w$ times as many outputs: its cost grows as $w^2$. {numref}`fig-widening` widens every filter
# count of the paper's network by the same factor and counts.

# %% tags=["hide-input"]
widened = costs.widening(tuple(widths), input_size)
growth = widened["ops growth exponent"].dropna()
figures.glue_values({"growth_min": f"{growth.min():.2f}", "growth_max": f"{growth.max():.2f}",
                     "double_ops": f"{widened['ops vs width 1'].max():.1f}", "double_width": f"{widened.index.max():g}",
                     "double_gops": f"{widened['ops'].max() / 1e9:.1f}"})
fig = figures.widening(widened)
figures.glue_figure("fig_widening", fig)
formatting.style_counts(widened)

# %% [markdown]
# ```{glue:figure} fig_widening
# :name: fig-widening
#
# Multiply-adds and parameters of the paper's network with every filter count multiplied by the same width, relative
# to the paper's network (log-log). Quadratic growth is a line of slope 2.
# ```
#
# Between neighbouring widths the multiply-adds grow with exponent {glue:text}`growth_min` to
# {glue:text}`growth_max`: nearly quadratic, and short of 2 only because the first convolution (3 input channels) and
# the classifier (a fixed number of classes) widen on one side only. At {glue:text}`double_width` times the width the
# network costs {glue:text}`double_ops` times as much, {glue:text}`double_gops` billion multiply-adds, far over the
# budget. "If the added capacity is used inefficiently (for example, if most weights end up to be close to zero), then
# a lot of computation is wasted."

# %% [markdown]
# ## Sparse structure from dense parts
#
# The paper's answer starts from a theoretical result. Arora et al. {cite}`arora2014provable` show that if the data
# come from a large, very sparse deep network, an optimal network can be built layer by layer: analyse the correlations
# of the last layer's activations and cluster units that are highly correlated into the units of the next layer. This
# echoes the Hebbian principle, "neurons that fire together, wire together". Sparse connections, however, are slow on
# the hardware of the time: lookups and cache misses dominate when the arithmetic is not dense, so even 100 times
# fewer operations would not pay. The inception module is the paper's compromise, a *dense* building block that
# approximates the sparse structure: in the lower layers, correlated units concentrate in small regions, and a 1x1
# convolution covers them; fewer, more spread-out clusters are covered by 3x3 and 5x5 convolutions; pooling, which
# worked well in other networks, gets a branch of its own. The following two sections count the two ideas that make
# this affordable and useful: the 1x1 reductions, and the several patch sizes.

# %% [markdown]
# ## The 1x1 bottleneck
#
# A 3x3 or 5x5 convolution applied to all of a module's input channels is what makes the naive module of Figure 2a
# expensive. The module GoogLeNet uses (Figure 2b) first reduces the channels with a 1x1 convolution to $r$ channels:
#
# $$
# H W k^2 C_\text{in} C_\text{out} \quad\longrightarrow\quad H W \left( C_\text{in} \, r + k^2 \, r \, C_\text{out} \right).
# $$
#
# For every 3x3 and 5x5 branch of the nine modules, the table and {numref}`fig-bottleneck` count both sides at
# {glue:text}`input_size` px, with the filter counts of Table 1.

# %% tags=["hide-input"]
savings = costs.bottleneck_savings(model, input_size)
figures.glue_values(chapter.bottleneck_values(savings, summary["ops"]))
fig = figures.bottleneck_savings(savings)
figures.glue_figure("fig_bottleneck", fig)
formatting.style_counts(savings.set_index(["module", "branch"]))

# %% [markdown]
# ```{glue:figure} fig_bottleneck
# :name: fig-bottleneck
#
# Multiply-adds of every 3x3 and 5x5 branch of GoogLeNet with its 1x1 reduction (as built) and without it (the
# kernel applied to all of the module's input channels), log scale.
# ```
#
# In inception (3a) the 5x5 branch sees {glue:text}`ex_in` channels and makes {glue:text}`ex_out`. Applied directly,
# the 5x5 convolution costs {glue:text}`ex_without` multiply-adds; reduced to {glue:text}`ex_red` channels first, the
# branch costs {glue:text}`ex_with`, {glue:text}`ex_saving` times less. Over the whole network the reductions make the
# 3x3 branches {glue:text}`saving_3x3` times and the 5x5 branches {glue:text}`saving_5x5` times cheaper; what they
# save is {glue:text}`saved_vs_total` times the cost of the entire network. Each reduction is also followed by a ReLU,
# so it adds a non-linearity as in Network-in-Network {cite}`lin2014network`.

# %% [markdown]
# ## Several scales at once
#
# The branches look at patches of different sizes. How large, in pixels of the input image, follows from the kernels
# and strides before them: the receptive field of a unit grows by $(k - 1)$ times the distance between neighbouring
# units at every $k \times k$ layer (`reproduce.analysis.receptive`). It depends on the layers, not on the size of the image,
# so the paper's network at 224 px and the narrower one the book trains on 64 px embedded images, which has the same
# stem and strides, see patches of the same sizes. {numref}`fig-receptive-fields` gives them for every branch of every
# module.

# %% tags=["hide-input"]
book_image_size = BOOK_CONFIG.image_size  # the embedded images the other chapters train on
fields = branch_fields(googlenet(width=BOOK_CONFIG.width))  # the same at every width (tests/test_receptive.py)
low, high = (2 * s * book_image_size for s in synthetic.SCALE_RANGE)  # the objects' diameters, in pixels
figures.glue_values({"object_low": f"{low:.0f}", "object_high": f"{high:.0f}", "object_ratio": f"{high / low:.2g}"})
glue("fields_3a", " / ".join(str(v) for v in fields.loc["3a", ["1x1", "3x3", "5x5"]]), display=False)
glue("book_image_size", book_image_size, display=False)
fig = figures.receptive_fields({"GoogLeNet": fields}, {"GoogLeNet": (low, high)},
                               {f"the paper's images ({input_size} px)": input_size,
                                f"the book's images ({book_image_size} px)": book_image_size})
figures.glue_figure("fig_receptive_fields", fig)
formatting.style_counts(fields)

# %% [markdown]
# ```{glue:figure} fig_receptive_fields
# :name: fig-receptive-fields
#
# Receptive field, in input pixels (log scale), of the output units of each branch of each inception module, for the
# paper's network and the book's narrower one alike, against the sides of the images each sees. Shaded: the
# diameters of the objects in the book's {glue:text}`book_image_size` px embedded images.
# ```
#
# The 1x1, 3x3 and 5x5 branches of inception (3a) see patches of {glue:text}`fields_3a` pixels: at one depth, three
# scales. The embedded data set that the other chapters train on draws every object with a diameter from
# {glue:text}`object_low` to {glue:text}`object_high` pixels, a factor of {glue:text}`object_ratio`, so the same class comes
# smaller and larger (`synthetic.generate(..., scale_range=(0.12, 0.5))` widens it to a factor above 4).
# {numref}`fig-scales` draws the receptive fields of inception (3a)'s branches over objects of three sizes.

# %% tags=["hide-input"]
sizes = {"small": synthetic.SCALE_RANGE[0], "medium": (synthetic.SCALE_RANGE[0] * synthetic.SCALE_RANGE[1]) ** 0.5,
         "large": synthetic.SCALE_RANGE[1]}
labels = torch.tensor([synthetic.CLASSES.index("star")])
images = [synthetic.render(labels, book_image_size, torch.Generator().manual_seed(data_seed + i),
                           scale_range=(scale, scale), clutter=0, noise=0, texture=0)[0]
          for i, scale in enumerate(sizes.values())]
branches = fields.loc["3a", ["1x1", "3x3", "5x5"]]
fig = figures.fields_on_images(images, {f"3a {b}: {v} px": int(v) for b, v in branches.items()},
                               [f"{name}: {2 * scale * book_image_size:.0f} px" for name, scale in sizes.items()])
figures.glue_figure("fig_scales", fig)
Markdown(chapter.seen_whole(branches, {name: 2 * scale * book_image_size for name, scale in sizes.items()}))

# %%
glue("table1_trend", attribution.table1_trend_sentence(googlenet()), display=False)

# %% [markdown]
# ```{glue:figure} fig_scales
# :name: fig-scales
#
# One class of the embedded data set at the smallest, a middle and the largest object size (the title gives the
# object's diameter, here on a flat background), with the receptive fields of inception (3a)'s 1x1, 3x3 and 5x5
# branches drawn to scale, centred on the object.
# ```
#
# A classifier that must recognise the star at every size needs units that see it whole at every size, and the
# inception module gives every stage several patch sizes rather than one. Section 4 adds that deeper features are
# more abstract and less concentrated, "suggesting that the ratio of 3x3 and 5x5 convolutions should increase as we
# move to higher layers". {glue:text}`table1_trend` The Branches chapter measures what trained networks do with those
# branches; the Architecture chapter builds the network that follows from all of this.

# %% [markdown]
# ## Does the argument pay off? The central claim on the miniature
#
# Sections 1, 3 and 9 claim that approximating a sparse structure with dense inception blocks gives a large gain in
# quality at a modest increase in computation over networks without them. `benchmarks/miniature.py` tests this on the
# embedded scenes (`reproduce.data.scenes`: twenty classes, objects over a range of more than 4x in scale, landscape and
# portrait images) with networks at an eighth of Table 1's width, with batch norm and AdamW, at 128 px through the
# paper's stem (inceptions 3a-3b on 16x16 maps, 4a-4e on 8x8, 5a-5b on 4x4), trained with Section 6's crops and flips
# for 3,000 steps. GoogLeNet is compared with the same network with each inception module replaced by two 3x3
# convolutions (a plain stack of GoogLeNet's depth) and by the naive module of Figure 2a, each widened or narrowed
# until it costs GoogLeNet's multiply-adds (`reproduce.analysis.costs.equal_cost_scale`). These runs take longer than a CPU
# build of this book allows, so the page shows the committed measurement (`benchmarks/results/miniature.json`),
# with the machine it was measured on; the command in the benchmark's docstring measures it again.

# %% tags=["hide-input"]
import json

miniature = json.loads(open("../benchmarks/results/miniature.json").read())  # written by benchmarks/miniature.py
central_table, central_findings = chapter.central_claim(miniature)
figures.glue_figure("fig_central", figures.miniature_curves(miniature))
glue("central_device", miniature["device"], display=False)
glue("findings", findings_json(central_findings), display=False)  # the front page's table; compared across builds
chapter.style_miniature(central_table)

# %% [markdown]
# ```{glue:figure} fig_central
# :name: fig-central
#
# Validation top-1 of every run of `benchmarks/miniature.py` against its training steps (Polyak-averaged weights,
# 1,000 validation scenes), measured on {glue:text}`central_device`.
# ```
#
# The table gives each network's test top-1 (2,000 test scenes, one centre crop) over its seeds with the seeds'
# spread, and how many seeds a comparison with that spread would need for an interval of +-2 points.

# %% tags=["hide-input"]
Markdown("\n\n".join([*(f.sentence() for f in central_findings), chapter.miniature_caveat(miniature)]))
