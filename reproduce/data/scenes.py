"""The embedded miniature the experimental chapters are to train on: scenes, landscape and portrait, that are hard in
the ways ImageNet is hard.

:mod:`.synthetic`'s ``shapes`` are square images of one large object on its own, which a quarter-width GoogLeNet
learns to near 100% in a few hundred steps: every comparison then runs at a ceiling. The scenes are built from what
makes ImageNet hard for a network of the paper's design, each source switchable by a constant of this module:

- **more classes**: :data:`CLASSES`, twenty shapes, the ten of ``shapes`` and ten more, several of them close
  relatives (disk, ellipse, ring, target, crescent, arc, semicircle), every one unchanged by a horizontal flip up to
  its class (Section 6's flips keep the label);
- **scale**: the object's radius is drawn log-uniformly from :data:`SCALE_RANGE`, 0.12 to 0.5 of the image's
  shorter side, a range of more than 4x (the inception module's parallel 1x1/3x3/5x5 branches are argued for
  objects at many scales, Section 4 of the paper);
- **position**: anywhere in the image, mostly inside it and more often near its middle than near its edges; tilted by
  up to 15 degrees either way;
- **clutter**: up to :data:`MAX_STROKES` strokes behind the object, on a background grating; and, where
  :data:`MAX_DISTRACTORS` allows, smaller objects of any class (:data:`DISTRACTOR_SCALE` of the object's radius);
- **occlusion**: where :data:`MAX_OCCLUDERS` allows, bars in front of the object, across it;
- **photographs' shapes**: two in three images are landscape and one in three portrait, 4:3 either way
  (:data:`ASPECT`), so that Section 7's left, centre and right squares of a test image show different parts of it;
- **a fixed training set**: a split is a fixed list of images (:data:`SPLIT_SIZES`) that a network can overfit.

Distractors and occluders are off by default. The settings were chosen before any claim was measured on the scenes,
by how far GoogLeNet as :data:`reproduce.training.MINIATURE_CONFIG` trains it gets within the budget of a CPU build:
with distractors and occluders it stayed at chance for as long as such a build can train one network, and without
them it leaves chance (``benchmarks/results/miniature-calibration.json``; ``benchmarks/miniature.py`` measures the
length runs need).

Colours carry no class information. Rendering uses the signed distance functions of :mod:`.synthetic` in the
coordinates of the image's shorter side, so the same seed draws the same scene at any resolution. As there, images
come in blocks of :data:`~reproduce.data.synthetic.BLOCK` from a generator seeded by ``(seed, split, block)``: a
split is the same whatever its size or the machine, and its first ``n`` images do not depend on how many follow.
Every random number of a block is drawn before any pixel is rendered, in an order that does not depend on the
resolution.
"""

from __future__ import annotations

import functools
import math
from typing import Callable

import torch

from .synthetic import SHAPES as BASE_SHAPES, EmbeddedShapes, _polygon, _rect, _segment, blocks

SQRT2 = math.sqrt(2.0)

#: The ten shapes beyond :mod:`.synthetic`'s, each in the object's own coordinates (circumscribed radius about 1;
#: ``v`` points down the image). Each is its own mirror image about the vertical axis.
EXTRA_SHAPES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "hexagon": lambda u, v: _polygon(u, v, 6, 0.85),
    "pentagon": lambda u, v: _polygon(u, v, 5, 0.8),
    "diamond": lambda u, v: (u.abs() + v.abs()) / SQRT2 - 0.65,
    "tee": lambda u, v: torch.minimum(_rect(u, v + 0.65, 0.9, 0.25), _rect(u, v - 0.15, 0.25, 0.75)),
    "chevron": lambda u, v: torch.maximum((0.7 * u.abs() + 0.7 * (v + 0.3)).abs() - 0.25, u.abs() - 0.95),
    "semicircle": lambda u, v: torch.maximum(torch.hypot(u, v - 0.4) - 0.95, v - 0.4),
    "bowtie": lambda u, v: torch.maximum(u.abs() - 0.9, (v.abs() - 0.8 * u.abs()) / 1.28),
    "ellipse": lambda u, v: (torch.hypot(u, 2.2 * v) - 0.95) / 2.2,
    "target": lambda u, v: torch.minimum((torch.hypot(u, v) - 0.78).abs() - 0.17, torch.hypot(u, v) - 0.3),
    "arc": lambda u, v: torch.maximum((torch.hypot(u, v - 0.3) - 0.75).abs() - 0.2, v - 0.3),
}
SHAPES = {**BASE_SHAPES, **EXTRA_SHAPES}
#: The classes, in label order: :mod:`.synthetic`'s ten, then ten more.
CLASSES = tuple(SHAPES)
#: The object's radius, as a share of the image's shorter side: drawn log-uniformly, more than 4x from the smallest
#: to the largest.
SCALE_RANGE = (0.12, 0.5)
#: The longer side over the shorter; a third of the images are portrait.
ASPECT = 4 / 3
PORTRAIT_SHARE = 1 / 3
MAX_DISTRACTORS = 0  # smaller objects behind the object, at most (see the module's docstring)
DISTRACTOR_SCALE = (0.3, 0.6)  # their radius, as a share of the object's
MAX_STROKES = 2
MAX_OCCLUDERS = 0  # bars in front of the object, at most (see the module's docstring)
MAX_ROTATION = 15.0  # degrees, either way
TEXTURE = 0.3  # the largest RGB distance between the background grating's two colours
NOISE = 0.03  # the largest standard deviation of the pixel noise (images in [0, 1])
#: Default sizes of the splits.
SPLIT_SIZES = {"train": 4800, "val": 1000, "test": 2000}
CHUNK = 64  # images rendered at once (memory), which does not change what is drawn


def long_side(short: int) -> int:
    """The longer side of an image whose shorter side is ``short`` pixels."""
    return round(short * ASPECT)


def draw_scenes(labels: torch.Tensor, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Every random choice of the scenes of ``labels``, in units of the image's shorter side, drawn from
    ``generator`` in a fixed order that does not depend on the resolution."""
    n = len(labels)

    def uniform(*shape, low=0.0, high=1.0):
        return low + (high - low) * torch.rand(*shape, generator=generator)

    portrait = uniform(n) < PORTRAIT_SHARE
    extent = torch.stack([torch.where(portrait, 1.0, ASPECT), torch.where(portrait, ASPECT, 1.0)], 1)  # (x, y)
    low, high = SCALE_RANGE
    radius = torch.exp(uniform(n, low=math.log(low), high=math.log(high)))
    # mostly inside the image, and nearer its middle than its edges (the mean of two uniform draws), as photographers
    # frame their subjects
    centre = radius[:, None] * 0.8 + (uniform(n, 2) + uniform(n, 2)) / 2 * (extent - 1.6 * radius[:, None])
    texture_direction = torch.nn.functional.normalize(torch.randn(n, 3, generator=generator), dim=1)
    base = uniform(n, 3)
    return {
        "labels": labels, "portrait": portrait, "extent": extent, "radius": radius, "centre": centre,
        "angle": uniform(n, low=-1.0, high=1.0) * math.radians(MAX_ROTATION),
        "background": torch.stack([base, (base + uniform(n, 1, high=TEXTURE) * texture_direction).clamp(0, 1)], 1),
        "grating": torch.stack([uniform(n, low=1.0, high=6.0), uniform(n, high=math.pi),
                                uniform(n, high=2 * math.pi)], 1),  # cycles per shorter side, orientation, phase
        "direction": torch.nn.functional.normalize(torch.randn(n, 3, generator=generator), dim=1),
        "contrast": uniform(n, low=0.3, high=0.8),
        "stroke_count": torch.randint(0, MAX_STROKES + 1, (n,), generator=generator),
        "stroke_ends": uniform(n, MAX_STROKES, 2, 2) * extent[:, None, None],
        "stroke_colour": uniform(n, MAX_STROKES, 3),
        "distractor_count": torch.randint(0, MAX_DISTRACTORS + 1, (n,), generator=generator),
        "distractor_label": torch.randint(0, len(CLASSES), (n, MAX_DISTRACTORS), generator=generator),
        "distractor_radius": radius[:, None] * uniform(n, MAX_DISTRACTORS, low=DISTRACTOR_SCALE[0],
                                                       high=DISTRACTOR_SCALE[1]),
        "distractor_centre": uniform(n, MAX_DISTRACTORS, 2) * extent[:, None],
        "distractor_angle": uniform(n, MAX_DISTRACTORS, low=-math.pi, high=math.pi),
        "distractor_colour": uniform(n, MAX_DISTRACTORS, 3),
        "occluder_count": torch.randint(0, MAX_OCCLUDERS + 1, (n,), generator=generator),
        "occluder_centre": centre[:, None] + radius[:, None, None] * uniform(n, MAX_OCCLUDERS, 2, low=-0.8,
                                                                            high=0.8),
        "occluder_angle": uniform(n, MAX_OCCLUDERS, high=math.pi),
        "occluder_length": radius[:, None] * uniform(n, MAX_OCCLUDERS, low=0.8, high=2.0),
        "occluder_width": radius[:, None] * uniform(n, MAX_OCCLUDERS, low=0.12, high=0.3),
        "occluder_colour": uniform(n, MAX_OCCLUDERS, 3),
        "noise_std": uniform(n, high=NOISE),
    }


def _shape_distance(labels, x, y, centre, angle, radius):
    """Signed distance (shorter-side units) from every pixel to each image's shape of class ``labels``."""
    cos, sin = angle.cos()[:, None, None], angle.sin()[:, None, None]
    dx, dy = x - centre[:, 0, None, None], y - centre[:, 1, None, None]
    r = radius[:, None, None]
    u, v = (dx * cos + dy * sin) / r, (-dx * sin + dy * cos) / r
    distance = torch.empty(u.shape)
    for label, name in enumerate(CLASSES):
        mine = labels == label
        if mine.any():
            distance[mine] = SHAPES[name](u[mine], v[mine]) * r[mine]
    return distance


def render_scenes(scenes: dict[str, torch.Tensor], short: int, generator: torch.Generator) -> list[torch.Tensor]:
    """The images of ``scenes`` (from :func:`draw_scenes`) with shorter side ``short`` pixels: a list of uint8
    tensors, (3, short, long) for landscape scenes and (3, long, short) for portrait ones. The pixel noise, whose
    size depends on the resolution, is drawn last from ``generator``."""
    n, long = len(scenes["labels"]), long_side(short)
    noise = torch.randn(n, 3, long, long, generator=generator)
    out: list[torch.Tensor] = [torch.empty(0)] * n
    for portrait in (False, True):
        where = torch.nonzero(scenes["portrait"] == portrait).flatten()
        height, width = (long, short) if portrait else (short, long)
        for start in range(0, len(where), CHUNK):
            index = where[start:start + CHUNK]
            part = {key: value[index] for key, value in scenes.items()}
            images = _render(part, height, width, short, noise[index, :, :height, :width])
            for i, image in zip(index.tolist(), images):
                out[i] = image
    return out


def _render(s: dict[str, torch.Tensor], height: int, width: int, short: int, noise: torch.Tensor) -> torch.Tensor:
    n = len(s["labels"])
    y = ((torch.arange(height, dtype=torch.float32) + 0.5) / short)[None, :, None]
    x = ((torch.arange(width, dtype=torch.float32) + 0.5) / short)[None, None, :]
    pixel = 1.0 / short

    def coverage(distance):  # signed distance -> share of each pixel inside, anti-aliased over one pixel
        return (0.5 - distance / pixel).clamp(0, 1)

    def paint(image, alpha, colour):
        return image + alpha[:, None] * (colour[:, :, None, None] - image)

    frequency, orientation, phase = s["grating"].unbind(1)
    along = x * orientation.cos()[:, None, None] + y * orientation.sin()[:, None, None]
    mix = (0.5 + 0.5 * torch.sin(2 * math.pi * frequency[:, None, None] * along + phase[:, None, None]))[:, None]
    background = s["background"]
    image = background[:, 0, :, None, None] * (1 - mix) + background[:, 1, :, None, None] * mix
    for k in range(MAX_STROKES):
        alpha = coverage(_segment(x, y, s["stroke_ends"][:, k, 0], s["stroke_ends"][:, k, 1]) - 0.6 * pixel)
        image = paint(image, alpha * (k < s["stroke_count"]).float()[:, None, None], s["stroke_colour"][:, k])
    for k in range(MAX_DISTRACTORS):
        distance = _shape_distance(s["distractor_label"][:, k], x, y, s["distractor_centre"][:, k],
                                   s["distractor_angle"][:, k], s["distractor_radius"][:, k])
        image = paint(image, coverage(distance) * (k < s["distractor_count"]).float()[:, None, None],
                      s["distractor_colour"][:, k])
    # The object stands out from the mean colour of what is behind it, as in :mod:`.synthetic`.
    mean = image.mean((2, 3))
    offset = s["contrast"][:, None] * s["direction"]
    candidates = torch.stack([mean + offset, mean - offset]).clamp(0, 1)
    colour = candidates[(candidates - mean).norm(dim=2).argmax(0), torch.arange(n)]
    image = paint(image, coverage(_shape_distance(s["labels"], x, y, s["centre"], s["angle"], s["radius"])), colour)
    for k in range(MAX_OCCLUDERS):
        angle = s["occluder_angle"][:, k]
        half = 0.5 * s["occluder_length"][:, k, None] * torch.stack([angle.cos(), angle.sin()], 1)
        ends = s["occluder_centre"][:, k]
        bar = _segment(x, y, ends - half, ends + half) - 0.5 * s["occluder_width"][:, k, None, None]
        image = paint(image, coverage(bar) * (k < s["occluder_count"]).float()[:, None, None],
                      s["occluder_colour"][:, k])
    image = image + s["noise_std"][:, None, None, None] * noise
    return (image.clamp(0, 1) * 255).round().to(torch.uint8)


def generate_scenes(num_images: int, short: int = 160, *, seed: int = 0,
                    split: str = "train") -> tuple[list[torch.Tensor], torch.Tensor]:
    """``num_images`` scenes of ``split`` (a list of uint8 CHW tensors with shorter side ``short``) and their labels
    (int64), balanced over the classes within every block."""
    if not (isinstance(short, int) and short >= 16):
        raise ValueError(f"the shorter side must be an integer of at least 16 pixels, got {short!r}")
    images, labels = [], []
    for generator, size, block_labels in blocks(num_images, seed, split, len(CLASSES)):
        scenes = draw_scenes(block_labels, generator)  # a whole block, so its first images do not depend on size
        images += render_scenes({key: value[:size] for key, value in scenes.items()}, short, generator)
        labels.append(block_labels[:size])
    return images, (torch.cat(labels) if labels else torch.empty(0, dtype=torch.int64))


@functools.lru_cache(maxsize=4)
def _generate_shared(num_images, short, seed, split):
    """``generate_scenes``, remembered: the runs of one notebook share the images, which nothing modifies."""
    images, labels = generate_scenes(num_images, short, seed=seed, split=split)
    return tuple(images), labels


class EmbeddedScenes(EmbeddedShapes):
    """The scenes as a map-style data set: ``(transform(image), label)`` with the image a uint8 CHW tensor, landscape
    or portrait with shorter side ``image_size``. Generated once, when the data set is made, and held in memory."""

    classes = list(CLASSES)

    def __init__(self, split: str = "train", *, image_size: int = 160, num_images: int | None = None, seed: int = 0,
                 transform: Callable | None = None):
        num_images = SPLIT_SIZES.get(split, 0) if num_images is None else num_images
        self.images, self.targets = _generate_shared(num_images, image_size, seed, split)
        self.split, self.image_size, self.seed = split, image_size, seed
        self.transform = transform
