"""Test-time crops of Section 7: one centre crop, ten crops, and the paper's 144 crops.

Section 7 of the paper: "we resize the image to 4 scales where the shorter dimension (height or width) is 256, 288,
320 and 352 respectively, take the left, center and right square of these resized images (in the case of portrait
images, we take the top, center and bottom squares). For each square, we then take the 4 corners and the center
224x224 crop as well as the square resized to 224x224, and their mirrored versions. This results in 4x3x6x2 = 144
crops per image."

No library has this procedure, so it is written here, with batched tensor operations: per scale one resize of the
whole batch, the squares and their crops as slices (views) of it and of its mirror image, one resize of each square
whole. For inputs other than 224 px the same scheme is scaled by ``crop / 224`` (a 64 px crop uses shorter
sides of 73, 82, 91 and 101 px).

The 144 crops come in a fixed order: the 72 unmirrored crops (scale-major, then square, then the kind of crop in
:data:`CROP_KINDS`), then their 72 mirrors in the same order. :func:`crop_boxes_144` gives the region of the original
image that each crop shows.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as TF

from ..data.transforms import PAPER_CROP, PAPER_SCALES, TEST_RESIZE_RATIO

SQUARES = ("first", "centre", "last")  # left/centre/right of a landscape image, top/centre/bottom of a portrait one
CROP_KINDS = ("top-left", "top-right", "bottom-left", "bottom-right", "centre", "whole square")


def scales_for(crop: int) -> tuple[int, ...]:
    """The paper's four shorter sides, scaled from 224 px crops to ``crop`` px."""
    return tuple(round(s * crop / PAPER_CROP) for s in PAPER_SCALES)


def _resize_shorter(images: torch.Tensor, shorter: int) -> torch.Tensor:
    return TF.resize(images, [shorter], antialias=True)  # bilinear, aspect ratio kept


def center_crop(images: torch.Tensor, crop: int = PAPER_CROP, *,
                resize_ratio: float = TEST_RESIZE_RATIO) -> torch.Tensor:
    """One crop per image: the shorter side resized to ``crop * resize_ratio``, then the central square.
    ``images``: (N, C, H, W) -> (N, 1, C, crop, crop). ``resize_ratio``: 256/224 for networks trained on random
    crops, 1 for networks trained on whole images (:func:`reproduce.data.transforms.test_resize_ratio`)."""
    resized = _resize_shorter(images, round(crop * resize_ratio))
    return TF.center_crop(resized, [crop])[:, None]


def ten_crops(images: torch.Tensor, crop: int = PAPER_CROP, *,
              resize_ratio: float = TEST_RESIZE_RATIO) -> torch.Tensor:
    """The four corners and the centre of the image with its shorter side resized to ``crop * resize_ratio``, then
    the same five crops of its mirror image (torchvision's ``ten_crop``). ``images``: (N, C, H, W) ->
    (N, 10, C, crop, crop)."""
    resized = _resize_shorter(images, round(crop * resize_ratio))
    return torch.stack(TF.ten_crop(resized, [crop]), dim=1)


class Region(NamedTuple):
    """One of the 72 unmirrored crops of Section 7, in the image resized to its scale: pixels ``left <= x < right``,
    ``top <= y < bottom``. Its mirrored version is the same region of the mirror image, mirrored back."""

    shorter: int  # the shorter side after resizing
    square: str  # one of SQUARES
    kind: str  # one of CROP_KINDS
    left: int
    top: int
    right: int
    bottom: int


def resized_size(height: int, width: int, shorter: int) -> tuple[int, int]:
    """The (height, width) that resizing the shorter side to ``shorter`` gives (torchvision's rule: the longer side
    is truncated)."""
    if height <= width:
        return shorter, int(shorter * width / height)
    return int(shorter * height / width), shorter


def crop_regions(height: int, width: int, crop: int = PAPER_CROP) -> list[Region]:
    """The geometry of Section 7's crops, written once: for a ``height`` x ``width`` image, the 72 unmirrored crops in
    their fixed order (scale-major, then square, then :data:`CROP_KINDS`), each in the image resized to its scale.
    :func:`paper_crops_144` cuts them, :func:`crop_boxes_144` maps them back onto the original image."""
    regions = []
    for shorter in scales_for(crop):
        resized_h, resized_w = resized_size(height, width, shorter)
        longer = max(resized_h, resized_w)
        far, mid = shorter - crop, (shorter - crop) // 2
        corners = [(0, 0), (far, 0), (0, far), (far, far), (mid, mid)]  # (left, top) of the first five CROP_KINDS
        for square, offset in zip(SQUARES, (0, (longer - shorter) // 2, longer - shorter)):
            # landscape (or square): left, centre and right squares; portrait: top, centre and bottom
            x, y = (offset, 0) if resized_w >= resized_h else (0, offset)
            for kind, (left, top) in zip(CROP_KINDS, corners):
                regions.append(Region(shorter, square, kind, x + left, y + top, x + left + crop, y + top + crop))
            regions.append(Region(shorter, square, CROP_KINDS[5], x, y, x + shorter, y + shorter))
    return regions


def paper_crops_144(images: torch.Tensor, crop: int = PAPER_CROP) -> torch.Tensor:
    """The 144 crops of Section 7 (:func:`crop_regions`, then their mirrors). ``images``: (C, H, W) ->
    (144, C, crop, crop), or (N, C, H, W) -> (N, 144, C, crop, crop).

    Every crop is written once, straight into the result, whose crops are laid out channels_last (the memory format
    the models run in), so that ``flatten(0, 1)`` gives a batch ready for the model without another copy. Per scale:
    one resize of the whole batch, and that image and its mirror image converted to channels_last once, so that
    the crops are copied from them row by row (views, no transposition); each square is resized whole from the
    resized image, and that crop mirrored on its own."""
    single = images.dim() == 3
    batch = images[None] if single else images
    n, channels = batch.shape[:2]
    # (n, 144, crop, crop, C) in memory, seen as (n, 144, C, crop, crop): each crop channels_last
    crops = torch.empty(n, 144, crop, crop, channels, dtype=batch.dtype, device=batch.device).permute(0, 1, 4, 2, 3)
    index = 0
    for shorter, regions in itertools.groupby(crop_regions(*batch.shape[-2:], crop), key=lambda r: r.shorter):
        resized = _resize_shorter(batch, shorter)  # (N, C, h, w), min(h, w) == shorter
        width = resized.shape[-1]
        plain = resized.contiguous(memory_format=torch.channels_last)
        mirror = resized.flip(-1).contiguous(memory_format=torch.channels_last)
        for region in regions:
            x0, y0, x1, y1 = region.left, region.top, region.right, region.bottom
            if region.kind == CROP_KINDS[5]:  # the whole square, resized to the crop; its mirror the same, flipped
                whole = F.interpolate(resized[..., y0:y1, x0:x1], size=(crop, crop), mode="bilinear",
                                      antialias=True, align_corners=False)
                crops[:, index].copy_(whole)
                crops[:, 72 + index].copy_(whole.flip(-1))
            else:  # the mirrored crop: the same region of the mirror image, counted from its right edge
                crops[:, index].copy_(plain[..., y0:y1, x0:x1])
                crops[:, 72 + index].copy_(mirror[..., y0:y1, width - x1:width - x0])
            index += 1
    return crops[0] if single else crops


class CropBox(NamedTuple):
    """Where one of the 144 crops comes from, in the original image's pixel coordinates (x to the right, y down;
    ``left <= x < right``)."""

    scale: int  # the shorter side after resizing
    square: str  # one of SQUARES
    kind: str  # one of CROP_KINDS
    mirrored: bool
    left: float
    top: float
    right: float
    bottom: float


def crop_boxes_144(height: int, width: int, crop: int = PAPER_CROP) -> list[CropBox]:
    """The region of a ``height`` x ``width`` image that each of :func:`paper_crops_144`'s crops shows, in the same
    order (:func:`crop_regions` mapped back from the resized image); for tests and figures."""
    boxes = []
    for r in crop_regions(height, width, crop):
        resized_h, resized_w = resized_size(height, width, r.shorter)
        fx, fy = resized_w / width, resized_h / height  # resized pixels per original pixel, per axis
        boxes.append(CropBox(r.shorter, r.square, r.kind, False, r.left / fx, r.top / fy, r.right / fx,
                             r.bottom / fy))
    return boxes + [box._replace(mirrored=True) for box in boxes]
