"""The paper's training augmentation (Section 6) and the evaluation transform, as torchvision v2 transforms.

Section 6 of the paper describes what worked for its ILSVRC 2014 entry:

- "sampling of various sized patches of the image whose size is distributed evenly between 8% and 100% of the image
  area with aspect ratio constrained to the interval [3/4, 4/3]": torchvision's ``RandomResizedCrop`` with its
  defaults, which came from this very sentence;
- "random interpolation methods (bilinear, area, nearest neighbor and cubic, with equal probability) for resizing":
  :class:`RandomResizedCropRandomInterpolation`;
- "the photometric distortions of Andrew Howard": :func:`photometric_distortion`;
- and horizontal flips (standard since AlexNet).

:func:`paper_train_transform` chains them, each switchable for ablations; :func:`eval_transform` is the single
centre crop, at the scale :func:`test_resize_ratio` matches to the training's geometry. Both take PIL images or uint8
CHW tensors and return normalized float32 CHW tensors. Randomness comes from torch's global generator, like every
torchvision transform, so ``torch.manual_seed`` repeats a run and DataLoader workers (which torch seeds differently)
draw differently.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Section 6: patches "distributed evenly between 8% and 100% of the image area" ...
CROP_SCALE = (0.08, 1.0)
#: ... "with aspect ratio constrained to the interval [3/4, 4/3]".
CROP_RATIO = (3 / 4, 4 / 3)
#: Howard's photometric distortions: brightness, contrast and colour factors "between 0.5 and 1.5".
PHOTOMETRIC_STRENGTH = 0.5
#: The paper's resize methods, drawn with equal probability.
INTERPOLATIONS = ("bilinear", "area", "nearest", "bicubic")
#: torchvision's modes for them. "area" is PIL's BOX filter (each output pixel the mean of the input pixels it
#: covers); torchvision resizes tensors with it only through :func:`resized_crop_area`. "nearest" is torchvision's
#: NEAREST_EXACT (nearest pixel centre, as PIL does), not its legacy NEAREST, which shifts the image by half a pixel.
TORCHVISION_MODES = {"bilinear": InterpolationMode.BILINEAR, "area": InterpolationMode.BOX,
                     "nearest": InterpolationMode.NEAREST_EXACT, "bicubic": InterpolationMode.BICUBIC}
CROP_FIELDS = ("top", "left", "height", "width")
#: Section 7's test crops: 224 px squares of the image resized to "4 scales where the shorter dimension ... is 256,
#: 288, 320 and 352" (reproduce.evaluate.crops scales them for other crop sizes).
PAPER_CROP = 224
PAPER_SCALES = (256, 288, 320, 352)
#: The standard single-crop evaluation of networks trained on random crops (AlexNet's, and the smallest of the
#: paper's test scales): the shorter side resized to 256 for a 224 px centre crop.
TEST_RESIZE_RATIO = PAPER_SCALES[0] / PAPER_CROP


def test_resize_ratio(crop: bool) -> float:
    """The shorter side of a test image, as a multiple of the crop size, for a network trained with random crops
    (``crop=True``: :data:`TEST_RESIZE_RATIO`) or on whole images (``crop=False``: 1), so that an object has the same
    apparent size in a training image and in a one-crop test image.

    Trained on whole images (:func:`paper_train_transform` with ``crop=False``), the network sees the shorter side
    resized to the input size and the central square: a test image resized by 1 and centre-cropped is that very
    geometry. Trained on random crops of 8-100% of the area, it sees objects magnified from about 1x (the whole
    image) to about 3.5x (8% of it), relative to the shorter side resized to the input size; 256/224 lies in that
    range, and is the convention that published single-crop results (torchvision's weights included) use.
    """
    return TEST_RESIZE_RATIO if crop else 1.0


test_resize_ratio.__test__ = False  # a function of the package whose name pytest would otherwise collect as a test


def shorter_side_size(height: int, width: int, size: int) -> tuple[int, int]:
    """The (height, width) of a height x width image whose shorter side is resized to ``size``, the aspect ratio
    kept: torchvision's ``Resize(size)`` rule (the longer side truncated to whole pixels)."""
    short, long = sorted((height, width))
    long = int(size * long / short)
    return (size, long) if height <= width else (long, size)


def _is_image_tensor(inpt: Any) -> bool:
    return isinstance(inpt, (tv_tensors.Image, tv_tensors.Video)) or F.is_pure_tensor(inpt)


def resized_crop_area(image: torch.Tensor, top: int, left: int, height: int, width: int,
                      size: Sequence[int]) -> torch.Tensor:
    """Crop ``image`` (``[..., C, H, W]``, any dtype) and resize the crop to ``size`` by area averaging.

    Written by hand because torchvision's tensor resize rejects the BOX mode (only PIL implements it, torchvision
    0.29): the crop is torchvision's, the resize ``torch.nn.functional.interpolate(mode="area")``, computed in float
    and rounded back for integer images. Like PIL's BOX when shrinking; when enlarging each output pixel copies the
    input pixel it lies in. A tv_tensor comes back as the same tv_tensor type.
    """
    cropped = F.crop(image, top, left, height, width)
    plain = cropped.as_subclass(torch.Tensor)
    *batch, channels, crop_height, crop_width = plain.shape
    work = plain.reshape(-1, channels, crop_height, crop_width)
    work = work.to(torch.float64 if plain.dtype == torch.float64 else torch.float32)
    resized = torch.nn.functional.interpolate(work, size=list(size), mode="area")
    if not plain.is_floating_point():
        resized = resized.round_()
    resized = resized.to(plain.dtype).reshape(*batch, channels, *size)
    return tv_tensors.wrap(resized, like=image) if isinstance(image, tv_tensors.TVTensor) else resized


class RandomResizedCropRandomInterpolation(v2.RandomResizedCrop):
    """torchvision's ``RandomResizedCrop`` (same ``scale`` and ``ratio`` sampling, same random draws) that resizes
    each crop with a method drawn uniformly from ``interpolations`` (names from :data:`INTERPOLATIONS`).

    Works on PIL images, on tensors ``[..., C, H, W]`` of any dtype and on tv_tensors. ``make_params`` returns the
    crop (``top``, ``left``, ``height``, ``width``) and the method's name (``interpolation``).
    """

    _v1_transform_cls = None  # no torchvision v1 transform does this, so it cannot be scripted through one

    def __init__(self, size: Union[int, Sequence[int]], scale: tuple[float, float] = CROP_SCALE,
                 ratio: tuple[float, float] = CROP_RATIO, interpolations: Sequence[str] = INTERPOLATIONS,
                 antialias: bool = True) -> None:
        unknown = [name for name in interpolations if name not in INTERPOLATIONS]
        if not interpolations or unknown:
            raise ValueError(f"interpolations={interpolations!r} must be a non-empty subset of {INTERPOLATIONS}")
        super().__init__(size, scale=scale, ratio=ratio, interpolation=InterpolationMode.BILINEAR,
                         antialias=antialias)
        self.interpolations = tuple(interpolations)

    def crop_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        """The crop: torchvision's ``RandomResizedCrop`` sampling."""
        return super().make_params(flat_inputs)

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        params = self.crop_params(flat_inputs)  # drawn first, so the crop is the parent's for the same seed
        params["interpolation"] = self.interpolations[int(torch.randint(len(self.interpolations), (1,)))]
        return params

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        return self._resized_crop(inpt, params, self.size)

    def _resized_crop(self, inpt: Any, params: dict[str, Any], size: Sequence[int]) -> Any:
        """The crop of ``params`` resized to ``size`` (height, width) with ``params["interpolation"]``."""
        crop = {field: params[field] for field in CROP_FIELDS}
        name = params["interpolation"]
        if name == "area" and _is_image_tensor(inpt):
            return resized_crop_area(inpt, **crop, size=size)
        return self._call_kernel(F.resized_crop, inpt, **crop, size=list(size),
                                 interpolation=TORCHVISION_MODES[name], antialias=self.antialias)

    def extra_repr(self) -> str:
        return f"size={self.size}, scale={self.scale}, ratio={self.ratio}, interpolations={self.interpolations}"


class ResizeRandomInterpolation(RandomResizedCropRandomInterpolation):
    """Resize the whole image so that its shorter side is ``size`` (aspect ratio kept, no crop, as ``v2.Resize(size)``
    does) with a method drawn uniformly from ``interpolations``: the paper's random interpolation without its random
    crop, for ablations."""

    def __init__(self, size: int, interpolations: Sequence[str] = INTERPOLATIONS, antialias: bool = True) -> None:
        if not isinstance(size, int):
            raise ValueError(f"size={size!r} must be an integer, the length of the shorter side after resizing")
        super().__init__(size, scale=(1.0, 1.0), ratio=(1.0, 1.0), interpolations=interpolations,
                         antialias=antialias)

    def crop_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        height, width = v2.query_size(flat_inputs)
        return dict(top=0, left=0, height=height, width=width)

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        return self._resized_crop(inpt, params, shorter_side_size(params["height"], params["width"], self.size[0]))

    def extra_repr(self) -> str:
        return f"size={self.size}, interpolations={self.interpolations}"


def photometric_distortion(strength: float = PHOTOMETRIC_STRENGTH, hue: float = 0.0) -> v2.ColorJitter:
    """Howard's photometric distortions (arXiv:1312.5402, his additional colour manipulations): brightness, contrast
    and colour (saturation) each scaled by a factor drawn uniformly from ``[1 - strength, 1 + strength]``, in a random
    order.

    Howard applies PIL's ``ImageEnhance`` Brightness, Contrast and Color "in a random order" with factors "between
    0.5 and 1.5": ``v2.ColorJitter`` does the same operations (blends with black, with the mean grey level and with
    the grey image) in a random order, so the default ``strength=0.5`` is his setting. ``hue`` (a shift of up to that
    fraction of the colour circle) is not his and is off by default. His recipe also keeps AlexNet's PCA lighting
    noise, which is not included here.
    """
    return v2.ColorJitter(brightness=strength, contrast=strength, saturation=strength, hue=hue)


def paper_train_transform(size: int, *, crop: bool = True, photometric: bool = True,
                          random_interpolation: bool = True, flip: bool = True,
                          crop_scale: tuple[float, float] = CROP_SCALE, crop_ratio: tuple[float, float] = CROP_RATIO,
                          photometric_strength: float = PHOTOMETRIC_STRENGTH,
                          mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> v2.Compose:
    """The paper's training augmentation, returning a normalized float32 tensor of shape (3, size, size).

    In order: a random crop of ``crop_scale`` of the area with an aspect ratio in ``crop_ratio`` resized to
    size x size (``crop=False``: the shorter side resized to ``size``, aspect ratio kept, and the central
    size x size, the geometry of :func:`eval_transform` with ``resize_ratio=test_resize_ratio(False)``, so that
    objects are neither squashed nor seen at another scale when tested); the resize method drawn from
    :data:`INTERPOLATIONS` (``random_interpolation=False``: bilinear with antialiasing); a horizontal flip with
    probability 1/2 (``flip``); Howard's photometric distortions (``photometric``, see
    :func:`photometric_distortion`); then conversion to float in [0, 1] and normalization by ``mean`` and ``std``.

    The input (PIL image or uint8 tensor) is made a uint8 tensor first, so the augmentation runs on small uint8
    images, and the same seed gives the same output for a PIL image and for its tensor.
    """
    steps: list[v2.Transform] = [v2.ToImage()]
    if crop and random_interpolation:
        steps.append(RandomResizedCropRandomInterpolation(size, scale=crop_scale, ratio=crop_ratio))
    elif crop:
        steps.append(v2.RandomResizedCrop(size, scale=crop_scale, ratio=crop_ratio,
                                          interpolation=InterpolationMode.BILINEAR, antialias=True))
    else:
        steps += [ResizeRandomInterpolation(size) if random_interpolation
                  else v2.Resize(size, interpolation=InterpolationMode.BILINEAR, antialias=True),
                  v2.CenterCrop(size)]
    if flip:
        steps.append(v2.RandomHorizontalFlip())
    if photometric:
        steps.append(photometric_distortion(photometric_strength))
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]
    return v2.Compose(steps)


def eval_transform(size: int, *, resize_ratio: float = TEST_RESIZE_RATIO, mean: Sequence[float] = IMAGENET_MEAN,
                   std: Sequence[float] = IMAGENET_STD) -> v2.Compose:
    """The single centre crop: the shorter side resized to ``round(size * resize_ratio)`` (bilinear, antialiased),
    the central size x size, converted to float in [0, 1] and normalized. ``resize_ratio``: see
    :func:`test_resize_ratio` (the default is that of networks trained on random crops)."""
    if resize_ratio < 1:
        raise ValueError(f"resize_ratio={resize_ratio} must be at least 1 so that the centre crop fits")
    return v2.Compose([v2.ToImage(),
                       v2.Resize(round(size * resize_ratio), interpolation=InterpolationMode.BILINEAR,
                                 antialias=True),
                       v2.CenterCrop(size), v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)])


def whole_image_transform(mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD, *,
                          normalize: bool = True) -> v2.Compose:
    """The whole image, not resized or cropped, converted to float in [0, 1] and normalized: the input of the
    test-time crops of :mod:`reproduce.evaluate`, which resize and crop it themselves. ``normalize=False`` stops at
    the image as read, uint8 (C, H, W), a quarter of the bytes, for DataLoader workers to hand over; :func:`model_input`
    then does the rest where the image is scored."""
    if not normalize:
        return v2.Compose([v2.ToImage()])
    return v2.Compose([v2.ToImage(), *_model_input_steps(mean, std)])


def _model_input_steps(mean: Sequence[float], std: Sequence[float]) -> list:
    return [v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]


def model_input(images: torch.Tensor, mean: Sequence[float] = IMAGENET_MEAN,
                std: Sequence[float] = IMAGENET_STD) -> torch.Tensor:
    """uint8 images (..., C, H, W), on any device, as :func:`whole_image_transform` gives them normalized (the same
    steps, where the images are); float images are returned as they are."""
    if images.dtype != torch.uint8:
        return images
    return v2.Compose(_model_input_steps(mean, std))(tv_tensors.Image(images)).as_subclass(torch.Tensor)


def denormalize(x: torch.Tensor, mean: Sequence[float] = IMAGENET_MEAN,
                std: Sequence[float] = IMAGENET_STD) -> torch.Tensor:
    """Undo ``v2.Normalize(mean, std)`` on ``[..., 3, H, W]`` images, clamped to [0, 1] for display."""
    shape = (-1, 1, 1)
    mean_t = torch.as_tensor(mean, dtype=x.dtype, device=x.device).reshape(shape)
    std_t = torch.as_tensor(std, dtype=x.dtype, device=x.device).reshape(shape)
    return (x * std_t + mean_t).clamp(0, 1)
