"""The test-time crops of Section 7, checked on images whose pixels hold their own coordinates: every crop shows the
region the paper names, for landscape and portrait images, mirrors included."""

import pytest
import torch

from reproduce.evaluate import (CROP_KINDS, SQUARES, center_crop, crop_boxes_144, paper_crops_144, scales_for,
                                ten_crops)
from reproduce.data import transforms
from reproduce.evaluate.crops import resized_size


def coordinates(height, width):
    """A float image whose channel 0 is each pixel's x coordinate (its centre) and channel 1 its y."""
    y, x = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing="ij")
    return torch.stack([x, y, torch.zeros_like(x)]).float()


def test_scales_are_the_papers_for_224_and_scaled_for_other_sizes():
    assert scales_for(224) == (256, 288, 320, 352)
    assert scales_for(64) == (73, 82, 91, 101)


@pytest.mark.parametrize("height, width", [(120, 160), (160, 120), (100, 100)])
def test_every_one_of_the_144_crops_shows_the_region_section_7_names(height, width):
    crop = 48
    image = coordinates(height, width)
    crops = paper_crops_144(image, crop)
    boxes = crop_boxes_144(height, width, crop)
    assert crops.shape == (144, 3, crop, crop) and len(boxes) == 144
    assert [(b.square, b.kind) for b in boxes[:18]] == [(s, k) for s in SQUARES for k in CROP_KINDS]
    assert [b.scale for b in boxes[::18]] == list(scales_for(crop)) * 2
    centres = torch.arange(crop) + 0.5
    for index, (patch, box) in enumerate(zip(crops, boxes)):
        # where each pixel of the crop samples the original image
        xs = box.left + centres * (box.right - box.left) / crop
        ys = box.top + centres * (box.bottom - box.top) / crop
        if box.mirrored:
            xs = xs.flip(0)
        inside_x = (xs > 2) & (xs < width - 2)  # resizing bends the ramp within a pixel or two of the border
        inside_y = (ys > 2) & (ys < height - 2)
        if box.kind == "whole square":  # resized twice: the second resize bends it at the square's border too
            inside_x[[0, 1, -2, -1]] = inside_y[[0, 1, -2, -1]] = False
        x_error = (patch[0] - xs[None, :])[:, inside_x].abs().max()
        y_error = (patch[1] - ys[:, None])[inside_y, :].abs().max()
        # Antialiased resizing moves a ramp by a fraction of a pixel; a crop misplaced by one of its own pixels
        # would be off by (box side / crop) original pixels, four times the tolerance.
        tolerance = 0.25 * (box.right - box.left) / crop
        assert x_error < tolerance and y_error < tolerance, (index, box, x_error, y_error)
        # the box lies inside the image, is square in the resized image, and its side is a crop or a square
        assert -1e-6 <= box.left < box.right <= width + 1e-6 and -1e-6 <= box.top < box.bottom <= height + 1e-6


def test_squares_run_along_the_longer_side_and_corner_crops_sit_in_their_corners():
    boxes = crop_boxes_144(120, 160, 48)  # landscape: left, centre, right
    first = {b.kind: b for b in boxes if b.square == "first" and b.scale == 55 and not b.mirrored}
    last = {b.kind: b for b in boxes if b.square == "last" and b.scale == 55 and not b.mirrored}
    assert first["whole square"].left == 0 and last["whole square"].right == pytest.approx(160, abs=0.5)
    assert first["whole square"].top == 0 and first["whole square"].bottom == pytest.approx(120)
    assert first["top-left"][4:6] == (0, 0) and first["bottom-right"].bottom == pytest.approx(120)
    portrait = {b.kind: b for b in crop_boxes_144(160, 120, 48) if b.square == "last" and b.scale == 55}
    assert portrait["whole square"].bottom == pytest.approx(160, abs=0.5) and portrait["whole square"].left == 0


def test_mirrors_are_the_first_72_crops_flipped():
    crops = paper_crops_144(torch.rand(3, 70, 90), 32)
    assert torch.equal(crops[72:], crops[:72].flip(-1))


def test_a_batch_gives_each_images_own_crops():
    images = torch.rand(3, 3, 50, 64)
    batched = paper_crops_144(images, 32)
    assert batched.shape == (3, 144, 3, 32, 32)
    for image, crops in zip(images, batched):
        assert torch.allclose(paper_crops_144(image, 32), crops, atol=1e-6)


def test_resized_size_matches_torchvision():
    import torchvision.transforms.v2.functional as TF

    for height, width, shorter in [(120, 161, 55), (333, 100, 73), (64, 64, 73)]:
        assert TF.resize(torch.zeros(1, height, width), [shorter]).shape[1:] == resized_size(height, width, shorter)


def test_centre_and_ten_crops():
    image = coordinates(96, 128)[None]
    one = center_crop(image, 64, resize_ratio=1.5)
    assert one.shape == (1, 1, 3, 64, 64)
    assert one[0, 0, 0].mean() == pytest.approx(64, abs=0.1) and one[0, 0, 1].mean() == pytest.approx(48, abs=0.1)
    ten = ten_crops(image, 64, resize_ratio=1.5)
    assert ten.shape == (1, 10, 3, 64, 64)
    assert torch.equal(ten[0, 5:], ten[0, [1, 0, 3, 2, 4]].flip(-1))  # the five crops of the mirrored image
    assert torch.allclose(ten[0, 4], one[0, 0])  # the fifth is the centre crop
    assert ten[0, 0, 0].mean() < ten[0, 1, 0].mean() and ten[0, 0, 1].mean() < ten[0, 2, 1].mean()


def test_the_centre_and_ten_crops_scale_is_the_training_geometrys_by_default():
    """Unless told otherwise, the 1 and 10 crops resize as for a network trained on random crops (256/224 of the crop):
    the ratio that reproduce.data.transforms holds, not a copy of it."""
    image = coordinates(96, 128)[None]
    assert transforms.TEST_RESIZE_RATIO == transforms.test_resize_ratio(True) == pytest.approx(256 / 224)
    assert torch.equal(center_crop(image, 56), center_crop(image, 56, resize_ratio=transforms.TEST_RESIZE_RATIO))
    assert torch.equal(ten_crops(image, 56), ten_crops(image, 56, resize_ratio=transforms.TEST_RESIZE_RATIO))
    whole = center_crop(image, 48, resize_ratio=transforms.test_resize_ratio(False))  # the shorter side whole
    assert whole[0, 0, 1].min() < 2 and whole[0, 0, 1].max() > 94
