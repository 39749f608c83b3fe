# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
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
# # The data: an embedded data set and the paper's augmentation
#
# Section 6 of {cite}`szegedy2015going` trains on ImageNet with heavy augmentation. This book is built where no data set
# can be downloaded, so `reproduce.data.synthetic` generates one: ten shape classes drawn at radii from 30% to 50% of the
# image side, anywhere in the image, tilted, in random colours, on flat backgrounds with pixel noise (textured
# backgrounds and clutter are options, off by default: with them the book's short runs stay at chance, as the
# Training chapter explains). Every number on this
# page comes from the code below; rerun it with other parameters (for example `-p image_size 128`) to see the same at
# another size.

# %% tags=["parameters"]
image_size = 64  # side of the generated images, in pixels
seed = 0  # which images are generated
train_images = 2000  # images generated for the speed measurement and the linear baseline
test_images = 1000
linear_iterations = 30  # L-BFGS iterations of the linear baseline

# %% tags=["hide-input"]
import time

import skimage.data
import torch
from myst_nb import glue

from reproduce.book import figures
from reproduce.analysis.baselines import against_chance, linear_classifier_accuracy
from reproduce.data import synthetic, transforms

figures.use_book_style()
started = time.perf_counter()
train_x, train_y = synthetic.generate(train_images, image_size, seed=seed)
seconds = time.perf_counter() - started
test_x, test_y = synthetic.generate(test_images, image_size, seed=seed, split="test")
glue("images_per_second", f"{train_images / seconds:,.0f}", display=False)
glue("image_size", image_size, display=False)
glue("classes", len(synthetic.CLASSES), display=False)
low, high = synthetic.SCALE_RANGE
glue("scale_low", f"{low:.0%}", display=False)
glue("scale_high", f"{high:.0%}", display=False)
glue("scale_ratio", f"{high / low:.1f}", display=False)

# %% [markdown]
# ## The embedded data set
#
# Each row of {numref}`fig-shapes` holds one class. The class is the shape and nothing else: colour, position, tilt,
# background and noise are drawn independently of it, and the object's radius is drawn log-uniformly between {glue:text}`scale_low`
# and {glue:text}`scale_high` of the image side, so the same class appears at scales up to {glue:text}`scale_ratio`x
# apart: the setting that the inception
# module's parallel 1x1, 3x3 and 5x5 branches are meant for (Section 4). Generating {glue:text}`image_size` px images
# runs at {glue:text}`images_per_second` images per second on this machine, and each split is generated once and kept
# in memory.

# %% tags=["hide-input"]
picked = [int(i) for c in range(len(synthetic.CLASSES)) for i in (train_y == c).nonzero()[:8, 0]]
fig = figures.image_grid(train_x[picked], [synthetic.CLASSES[train_y[i]] for i in picked], columns=8)
figures.glue_figure("fig_shapes", fig)

# %% [markdown]
# ```{glue:figure} fig_shapes
# :name: fig-shapes
#
# Eight images of each of the ten classes of the embedded data set (the first of each class in the train split).
# ```

# %% [markdown]
# ## The paper's augmentation on a real photo
#
# `reproduce.data.transforms.paper_train_transform` is Section 6's recipe: a crop of 8% to 100% of the image area with
# aspect ratio in [3/4, 4/3], resized with a randomly chosen method (bilinear, area, nearest or bicubic), the
# photometric distortions of {cite}`howard2013some` (brightness, contrast and colour, each scaled by a random factor in
# [0.5, 1.5]), and a horizontal flip. Each part can be switched off for ablations. {numref}`fig-augmentation` applies
# it to a photo that ships with scikit-image.

# %% tags=["hide-input"]
photo = torch.from_numpy(skimage.data.chelsea()).permute(2, 0, 1)
torch.manual_seed(seed)
augment = transforms.paper_train_transform(128)
samples = [transforms.denormalize(augment(photo)) for _ in range(15)]
fig = figures.image_grid([photo] + samples, ["original"] + [f"sample {i + 1}" for i in range(15)], columns=8,
                         size=1.6)
figures.glue_figure("fig_augmentation", fig)

# %% [markdown]
# ```{glue:figure} fig_augmentation
# :name: fig-augmentation
#
# A photo (scikit-image's `chelsea`) and fifteen draws of the paper's training augmentation, at 128 px.
# ```

# %% [markdown]
# ## A linear classifier on raw pixels
#
# A data set that rewards what the paper argues for must not be solvable from the pixels alone. Multinomial logistic
# regression on the standardized pixels of the train images (`reproduce.analysis.baselines`) is the floor a network must clear:

# %% tags=["hide-input"]
linear = linear_classifier_accuracy(train_x, train_y, test_x, test_y, iterations=linear_iterations)
glue("linear_train", f"{linear['train_top1']:.1%}", display=False)
glue("linear_test", f"{linear['test_top1']:.1%}", display=False)
glue("linear_verdict", against_chance(linear["test_top1"], len(test_y), len(synthetic.CLASSES)), display=False)

# %% [markdown]
# The linear classifier reaches {glue:text}`linear_train` top-1 on the {glue:text}`classes` classes of its own
# train images. {glue:text}`linear_verdict`
