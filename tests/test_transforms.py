"""The paper's augmentation (Section 6) and the centre-crop evaluation transform do what they say."""

import collections
import math

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from reproduce.data import transforms
from reproduce.data.transforms import (IMAGENET_MEAN, IMAGENET_STD, INTERPOLATIONS, TEST_RESIZE_RATIO,
                                       TORCHVISION_MODES, RandomResizedCropRandomInterpolation,
                                       ResizeRandomInterpolation, denormalize, eval_transform, paper_train_transform,
                                       photometric_distortion, resized_crop_area, shorter_side_size)

# transforms.test_resize_ratio is used through the module: imported by name, pytest would collect it as a test.

OFF = dict(crop=False, photometric=False, random_interpolation=False, flip=False)


def coordinates(height, width):
    """A uint8 image whose red channel is the row index, green the column index and blue 7."""
    rows = torch.arange(height).reshape(-1, 1).expand(height, width)
    cols = torch.arange(width).reshape(1, -1).expand(height, width)
    return torch.stack([rows, cols, torch.full_like(rows, 7)]).to(torch.uint8)


def checkerboard(size):
    """0 and 255 alternating in a 2 x 2 period, 3 channels."""
    rows, cols = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    return (((rows + cols) % 2) * 255).to(torch.uint8).expand(3, size, size).clone()


def to_pil(image):
    return Image.fromarray(image.permute(1, 2, 0).numpy())


def pixels(output, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """A normalized float output back to uint8 values."""
    return (denormalize(output, mean, std) * 255).round().to(torch.uint8)


# The crop sampling ----------------------------------------------------------------------------------------------------

def test_crop_areas_and_aspect_ratios_cover_the_papers_ranges():
    transform = RandomResizedCropRandomInterpolation(224)
    image = torch.empty(3, 1000, 1000, dtype=torch.uint8)
    crops = [transform.make_params([image]) for _ in range(2000)]
    area = np.array([c["height"] * c["width"] / 1e6 for c in crops])
    ratio = np.array([c["width"] / c["height"] for c in crops])
    assert area.min() >= 0.08 - 0.002 and area.max() <= 1.0  # up to rounding of the sides to whole pixels
    assert ratio.min() >= 0.75 - 0.002 and ratio.max() <= 4 / 3 + 0.002
    # spread over the ranges, not bunched: every tenth of the area range and every sixth of log-ratio is hit
    assert len(np.unique(np.digitize(area, np.linspace(0.08, 1.0, 11)))) == 10
    log_ratio_bins = np.linspace(math.log(0.75), math.log(4 / 3), 7)
    assert len(np.unique(np.digitize(np.log(ratio), log_ratio_bins[1:-1]))) == 6
    # the target area is uniform in [0.08, 1]: below 1/2 the image, where every crop fits, half of the mass sits
    # below 0.29 (crops above 1/2 are rejected more often when too wide or tall, so only the lower part is checked)
    lower = area[area < 0.5]
    assert abs(np.median(lower) - 0.29) < 0.03


def test_crop_is_torchvisions_crop_for_the_same_seed():
    ours = RandomResizedCropRandomInterpolation(64, scale=(0.1, 0.9), ratio=(0.5, 2.0))
    reference = v2.RandomResizedCrop(64, scale=(0.1, 0.9), ratio=(0.5, 2.0))
    image = torch.empty(3, 120, 90, dtype=torch.uint8)
    for seed in range(20):
        torch.manual_seed(seed)
        params = ours.make_params([image])
        torch.manual_seed(seed)
        assert {k: params[k] for k in ("top", "left", "height", "width")} == reference.make_params([image])


def test_the_four_interpolations_are_drawn_with_equal_frequency():
    transform = RandomResizedCropRandomInterpolation(8)
    image = torch.empty(3, 16, 16, dtype=torch.uint8)
    counts = collections.Counter(transform.make_params([image])["interpolation"] for _ in range(4000))
    assert set(counts) == set(INTERPOLATIONS)
    for name in INTERPOLATIONS:  # binomial(4000, 1/4): standard deviation 27
        assert abs(counts[name] - 1000) < 110, counts


def test_a_subset_of_interpolations_is_respected():
    transform = RandomResizedCropRandomInterpolation(8, interpolations=("nearest", "area"))
    image = torch.empty(3, 16, 16, dtype=torch.uint8)
    assert {transform.make_params([image])["interpolation"] for _ in range(200)} == {"nearest", "area"}
    with pytest.raises(ValueError, match="subset"):
        RandomResizedCropRandomInterpolation(8, interpolations=("lanczos",))
    with pytest.raises(ValueError, match="subset"):
        RandomResizedCropRandomInterpolation(8, interpolations=())


@pytest.mark.parametrize("name", ["bilinear", "nearest", "bicubic"])
def test_the_drawn_interpolation_is_the_one_used(name):
    transform = RandomResizedCropRandomInterpolation(20)
    image = torch.randint(0, 256, (3, 50, 60), dtype=torch.uint8)
    params = dict(top=5, left=7, height=30, width=41, interpolation=name)
    expected = F.resized_crop(image, 5, 7, 30, 41, [20, 20], interpolation=TORCHVISION_MODES[name], antialias=True)
    assert torch.equal(transform.transform(image, params), expected)
    # and the methods differ on this image, so a wrong dispatch would show
    others = [F.resized_crop(image, 5, 7, 30, 41, [20, 20], interpolation=TORCHVISION_MODES[other])
              for other in ("bilinear", "nearest", "bicubic") if other != name]
    assert not any(torch.equal(expected, other) for other in others)


def only(name, size):
    """The crop-and-resize with one method and the whole (square) image as the crop."""
    return RandomResizedCropRandomInterpolation(size, scale=(1.0, 1.0), ratio=(1.0, 1.0), interpolations=(name,))


def test_area_averages_on_tensors_pil_and_tv_tensors_while_nearest_does_not():
    board = checkerboard(8)
    out = only("area", 4)(board)
    assert out.dtype == torch.uint8 and out.shape == (3, 4, 4)
    assert out.unique().tolist() == [128]  # the mean 127.5, rounded
    assert torch.equal(only("area", 4)(board.float() / 255), torch.full((3, 4, 4), 0.5))
    image = only("area", 4)(tv_tensors.Image(board))
    assert isinstance(image, tv_tensors.Image) and image.unique().tolist() == [128]
    assert np.unique(np.asarray(only("area", 4)(to_pil(board)))).tolist() == [128]  # PIL's BOX filter
    assert set(only("nearest", 4)(board).unique().tolist()) <= {0, 255}


def test_area_resize_of_a_crop_averages_that_crop_exactly():
    image = torch.randint(0, 256, (2, 3, 30, 40), dtype=torch.uint8)  # leading batch dimension too
    out = resized_crop_area(image, 2, 4, 12, 18, [4, 6])
    expected = image[..., 2:14, 4:22].double().reshape(2, 3, 4, 3, 6, 3).mean((3, 5))
    assert out.shape == (2, 3, 4, 6) and out.dtype == torch.uint8
    assert (out.double() - expected).abs().max() <= 0.5


# The pipeline and its switches ----------------------------------------------------------------------------------------

def test_output_shape_dtype_and_normalization():
    mean, std = (0.2, 0.5, 0.7), (0.1, 0.3, 0.2)
    colour = torch.tensor([30, 200, 90], dtype=torch.uint8).reshape(3, 1, 1).expand(3, 40, 50).clone()
    out = paper_train_transform(24, **OFF, mean=mean, std=std)(colour)
    assert out.shape == (3, 24, 24) and out.dtype == torch.float32
    expected = (torch.tensor([30, 200, 90]) / 255 - torch.tensor(mean)) / torch.tensor(std)
    assert torch.allclose(out, expected.reshape(3, 1, 1).expand(3, 24, 24), atol=1e-5)
    full = paper_train_transform(24)(torch.randint(0, 256, (3, 40, 50), dtype=torch.uint8))
    assert full.shape == (3, 24, 24) and full.dtype == torch.float32


def test_pil_and_tensor_inputs_give_the_same_output_for_the_same_seed():
    image = torch.randint(0, 256, (3, 45, 61), dtype=torch.uint8)
    transform = paper_train_transform(32)
    for seed in range(8):  # several draws, so several interpolation methods
        torch.manual_seed(seed)
        from_tensor = transform(image)
        torch.manual_seed(seed)
        from_pil = transform(to_pil(image))
        assert torch.equal(from_tensor, from_pil)


def test_the_same_seed_gives_the_same_output_and_another_seed_another():
    image = torch.randint(0, 256, (3, 45, 61), dtype=torch.uint8)
    transform = paper_train_transform(32)
    torch.manual_seed(3)
    first = transform(image)
    torch.manual_seed(3)
    assert torch.equal(transform(image), first)
    torch.manual_seed(4)
    assert not torch.equal(transform(image), first)


def test_with_everything_off_the_image_comes_back_unchanged():
    image = coordinates(32, 32)
    assert torch.equal(pixels(paper_train_transform(32, **OFF)(image)), image)


def test_flip_off_never_mirrors_and_on_mirrors_about_half_the_time():
    image = coordinates(16, 16)
    assert all(torch.equal(pixels(paper_train_transform(16, **OFF)(image)), image) for _ in range(50))
    flipping = paper_train_transform(16, **{**OFF, "flip": True})
    mirrored = [torch.equal(pixels(flipping(image)), image.flip(-1)) for _ in range(200)]
    assert 70 < sum(mirrored) < 130


def test_photometric_off_keeps_colours_and_on_changes_them():
    image = torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8)
    distorting = paper_train_transform(16, **{**OFF, "photometric": True})
    assert all(not torch.equal(pixels(distorting(image)), image) for _ in range(20))
    assert torch.equal(pixels(paper_train_transform(16, **OFF)(image)), image)


def test_photometric_distortion_scales_brightness_between_half_and_one_and_a_half():
    grey = torch.full((3, 4, 4), 100, dtype=torch.uint8)  # contrast and saturation leave a flat grey unchanged,
    values = torch.tensor([photometric_distortion()(grey)[0, 0, 0].item() for _ in range(300)])
    assert values.min() >= 48 and values.max() <= 152  # up to the rounding of their uint8 grey levels
    assert values.min() < 56 and values.max() > 144  # the whole range is reached
    assert torch.equal(photometric_distortion(0.0)(grey), grey)


@pytest.mark.parametrize("random_interpolation", [False, True])
def test_crop_off_keeps_the_central_square_of_the_whole_image(random_interpolation):
    image = coordinates(48, 64)  # not square: the shorter side is resized to 32, and the central 32 x 32 kept
    transform = paper_train_transform(32, **{**OFF, "random_interpolation": random_interpolation})
    for _ in range(20):
        out = pixels(transform(image)).int()
        rows, cols = out[0], out[1]
        assert out.shape == (3, 32, 32)
        assert rows[0].max() <= 2 and rows[-1].min() >= 45  # first and last rows of the output are the image's
        assert (cols[:, 0] - 8).abs().max() <= 2 and (cols[:, -1] - 55).abs().max() <= 2  # columns 8 to 55 of 64
        assert (cols[:, 1:] - cols[:, :-1]).float().mean() == pytest.approx(1.5, abs=0.1)  # as many as rows: 48/32
    cropping = paper_train_transform(32, **{**OFF, "crop": True})
    spans = [pixels(cropping(image))[1].int() for _ in range(20)]
    assert any(s[:, 0].max() > 2 or s[:, -1].min() < 61 for s in spans)  # a crop leaves out part of the image


def test_crop_off_draws_the_interpolation_and_random_interpolation_off_uses_bilinear():
    board = checkerboard(32)
    resize = ResizeRandomInterpolation(16)
    image = torch.empty(3, 30, 50, dtype=torch.uint8)
    assert {resize.make_params([image])["interpolation"] for _ in range(100)} == set(INTERPOLATIONS)
    assert resize.crop_params([image]) == dict(top=0, left=0, height=30, width=50)
    out = paper_train_transform(16, **OFF)(board)
    expected = F.resize(board, [16, 16], interpolation=v2.InterpolationMode.BILINEAR, antialias=True)
    assert torch.equal(pixels(out), expected)


@pytest.mark.parametrize("height, width, size", [(30, 50, 16), (50, 30, 16), (48, 80, 32), (7, 7, 9), (333, 500, 224)])
def test_shorter_side_size_is_the_size_of_torchvisions_resize(height, width, size):
    resized = F.resize(torch.zeros(3, height, width, dtype=torch.uint8), [size], antialias=True)
    assert shorter_side_size(height, width, size) == tuple(resized.shape[-2:])


@pytest.mark.parametrize("name", INTERPOLATIONS)
def test_resize_with_a_random_interpolation_keeps_the_aspect_ratio(name):
    image = torch.randint(0, 256, (3, 30, 50), dtype=torch.uint8)
    resize = ResizeRandomInterpolation(16, interpolations=(name,))
    out = resize(image)
    assert out.shape == (3, 16, 26) == (3, *shorter_side_size(30, 50, 16))
    if name != "area":  # torchvision's resize with the same method (area: see resized_crop_area)
        assert torch.equal(out, F.resize(image, [16], interpolation=TORCHVISION_MODES[name], antialias=True))
    with pytest.raises(ValueError, match="size"):
        ResizeRandomInterpolation((16, 20))


def test_accepts_tv_tensor_and_float_inputs():
    image = torch.randint(0, 256, (3, 40, 40), dtype=torch.uint8)
    transform = paper_train_transform(20, **OFF)
    assert torch.equal(transform(tv_tensors.Image(image)), transform(image))
    from_float = pixels(transform(image.float() / 255)).int()
    assert (from_float - pixels(transform(image)).int()).abs().max() <= 1  # uint8 resizing rounds


# Evaluation -----------------------------------------------------------------------------------------------------------

def test_eval_transform_takes_exactly_the_centre():
    image = coordinates(64, 96)  # shorter side 64 = round(56 * 64 / 56): no resize, a centre crop of 56
    out = pixels(eval_transform(56, resize_ratio=64 / 56)(image))
    assert torch.equal(out, image[:, 4:60, 20:76])


def test_eval_transform_resizes_the_shorter_side_then_crops():
    image = coordinates(128, 160)  # resized to 64 x 80, then the centre 56 x 56
    out = eval_transform(56, resize_ratio=64 / 56)(image)
    assert out.shape == (3, 56, 56) and out.dtype == torch.float32
    rows, cols = pixels(out)[0].double(), pixels(out)[1].double()
    # output pixel i of the crop sits at (i + 4 + 0.5) * 2 - 0.5 in the original image
    expected = torch.arange(56, dtype=torch.double) * 2 + 8.5
    assert (rows[:, 0] - expected).abs().max() <= 1 and (cols[0] - expected - 16).abs().max() <= 1
    assert eval_transform(224)(torch.zeros(3, 300, 400, dtype=torch.uint8)).shape == (3, 224, 224)


def test_denormalize_inverts_normalize():
    x = torch.rand(2, 3, 5, 5)
    normalized = v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)(x)
    assert torch.allclose(denormalize(normalized), x, atol=1e-6)
    assert denormalize(torch.full((3, 2, 2), 100.0)).max() == 1.0  # clamped for display


# The geometry of training and testing ---------------------------------------------------------------------------------

def object_image(height, width, top, left, object_height, object_width):
    """A black uint8 image with a white rectangle, the object, of object_height x object_width at (top, left)."""
    image = torch.zeros(3, height, width, dtype=torch.uint8)
    image[:, top:top + object_height, left:left + object_width] = 255
    return image


def object_extent(output):
    """The object's height and width in a transformed image, in pixels to a fraction of one: the white in its
    fullest column and row (edge pixels that the resize blended with the background count in part)."""
    white = denormalize(output).mean(0)
    return torch.stack([white.sum(0).max(), white.sum(1).max()])


@pytest.mark.parametrize("random_interpolation", [False, True])
def test_an_object_has_the_same_size_in_a_whole_image_training_image_and_its_test_image(random_interpolation):
    image = object_image(48, 80, 6, 25, 36, 30)  # landscape, the object in the central square
    expected = torch.tensor([36, 30]) * 32 / 48  # the shorter side, 48, becomes 32: 24 x 20
    train = paper_train_transform(32, **{**OFF, "random_interpolation": random_interpolation})
    test = eval_transform(32, resize_ratio=transforms.test_resize_ratio(False))
    tested = object_extent(test(image))
    assert (tested - expected).abs().max() <= 1
    for seed in range(8):  # several interpolation methods when they are drawn
        torch.manual_seed(seed)
        trained = object_extent(train(image))
        assert (trained - tested).abs().max() <= 1, (trained, tested)
    # the test measures size: the scale of a random-crop run magnifies the object by 256/224 (27 x 23 px)
    magnified = object_extent(eval_transform(32, resize_ratio=transforms.test_resize_ratio(True))(image))
    assert (magnified - tested).min() >= 2


def test_the_one_crop_scale_of_a_random_crop_run_lies_within_the_scales_its_crops_trained_at():
    assert transforms.test_resize_ratio(True) == TEST_RESIZE_RATIO == 256 / 224
    assert transforms.test_resize_ratio(False) == 1.0
    side = 500  # a square image: each crop of w x h px is magnified side / sqrt(w h) times more than the whole image
    crop = RandomResizedCropRandomInterpolation(224)  # the paper's crops, as paper_train_transform draws them
    image = torch.empty(3, side, side, dtype=torch.uint8)
    torch.manual_seed(0)
    magnification = np.array([side / math.sqrt(p["width"] * p["height"])
                              for p in (crop.make_params([image]) for _ in range(4000))])
    assert magnification.min() < TEST_RESIZE_RATIO < magnification.max()
    assert 0.05 < (magnification < TEST_RESIZE_RATIO).mean() < 0.5  # inside the range, not at an extreme
    # and the one-crop test image is magnified 256/224 times more than the whole image resized to 224 px
    tested = object_extent(eval_transform(224)(object_image(side, side, 200, 200, 100, 100)))
    assert (tested - 100 * (224 / side) * TEST_RESIZE_RATIO).abs().max() <= 1
