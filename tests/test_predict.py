"""Predictions over crops and ensembles: probabilities (not logits) are reduced over the crops of each image as they
stream (mean and max, equal to those of every crop's softmax kept), then averaged over models; a data set is read by
DataLoader workers with the same result; an ensemble of identical models is that model; the vectorized ensemble
equals the loop."""

import dataclasses

import pytest
import torch
from torch import nn
from torch.utils.data import Dataset, get_worker_info

from reproduce.data import transforms
from reproduce.evaluate.crops import center_crop, paper_crops_144, ten_crops
from reproduce.evaluate.predict import (CropProbabilities, DatasetImages, Ensemble, crop_probabilities, cut_crops,
                                        predict)
from reproduce.models import googlenet


class MeanColourClassifier(nn.Module):
    """Logits that depend on what a crop shows: a linear map of its mean colour."""

    def __init__(self, seed):
        super().__init__()
        self.linear = nn.Linear(3, 4)
        with torch.no_grad():
            self.linear.weight.copy_(torch.randn(4, 3, generator=torch.Generator().manual_seed(seed)) * 5)

    def forward(self, x):
        return self.linear(x.mean((2, 3)))


def test_probabilities_are_averaged_over_crops_then_models():
    images = torch.rand(5, 3, 40, 56)
    models = [MeanColourClassifier(0), MeanColourClassifier(1)]
    crops = ten_crops(images, 32)  # (5, 10, 3, 32, 32)
    softmax = torch.stack([m(crops.flatten(0, 1)).softmax(-1).unflatten(0, (5, 10)) for m in models])
    assert torch.allclose(predict(models, images, crops=10, size=32), softmax.mean(2).mean(0), atol=1e-6)
    assert torch.allclose(predict(models, images, crops=10, size=32, reduce="max"), softmax.amax(2).mean(0),
                          atol=1e-6)
    logits = torch.stack([m(crops.flatten(0, 1)) for m in models]).mean(0).softmax(-1).unflatten(0, (5, 10)).mean(1)
    assert not torch.allclose(predict(models, images, crops=10, size=32), logits, atol=1e-3)  # not logits


def every_crop(models, images, crops, size, **cut):
    """The softmax of every model on every crop of every image, kept: (models, N, crops, classes), each image cut
    on its own."""
    with torch.no_grad():
        return torch.stack([torch.cat([m(cut_crops(image[None], crops, size, **cut)[0]).softmax(-1)[None]
                                       for image in images]) for m in models])


@pytest.mark.parametrize("crops", [1, 10, 144])
def test_the_streamed_mean_and_max_are_those_of_every_crops_softmax(crops):
    torch.manual_seed(0)
    models = [googlenet(6, width=0.125, batch_norm=True, aux_heads=False, stem="small").eval() for _ in range(2)]
    # in chunks of two: two images of one size (cut together), two of different sizes (cut one by one), one alone
    images = [torch.randn(3, h, w) for h, w in [(20, 26), (20, 26), (26, 20), (22, 22), (21, 30)]]
    kept = every_crop(models, images, crops, 16)
    # batches of 7 crops: they straddle images and chunks
    streamed = crop_probabilities(models, images, crops=crops, size=16, images_at_once=2, batch_size=7)
    assert isinstance(streamed, CropProbabilities) and streamed.crops == crops and streamed.models == 2
    for field in dataclasses.fields(streamed):  # nothing in the result grows with the number of crops
        value = getattr(streamed, field.name)
        assert not isinstance(value, torch.Tensor) or value.shape == (2, 5, 6)
    assert torch.allclose(streamed.mean, kept.mean(2), atol=1e-5)
    assert torch.allclose(streamed.max, kept.amax(2), atol=1e-5)
    assert torch.allclose(predict(models, images, crops=crops, size=16, reduce="max"), kept.amax(2).mean(0),
                          atol=1e-5)
    if crops > 1:
        assert not torch.allclose(streamed.mean, streamed.max, atol=1e-3)


def test_indexing_selects_members_and_keeps_their_dimension():
    p = CropProbabilities(torch.rand(3, 4, 5), torch.rand(3, 4, 5), 10)
    assert torch.equal(p[1].mean, p.mean[1:2]) and torch.equal(p[:2].max, p.max[:2]) and p[-1].models == 1
    assert p[[0, 2]].models == 2 and p[:2].crops == 10
    with pytest.raises(ValueError, match="reduce='median'"):
        p.reduced("median")
    with pytest.raises(ValueError, match=r"\(models, N, classes\)"):
        CropProbabilities(torch.rand(3, 4, 10, 5), torch.rand(3, 4, 10, 5), 10)


class MixedSizes(Dataset):
    """(image, label) pairs of three sizes; ``workers``: whether it must be read in a DataLoader worker."""

    def __init__(self, workers: bool):
        generator = torch.Generator().manual_seed(3)
        sizes = [(20, 26), (26, 20), (22, 22)] * 3
        self.images = [torch.randn(3, h, w, generator=generator) for h, w in sizes]
        self.workers = workers

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        assert (get_worker_info() is not None) == self.workers, "read in the wrong process"
        return self.images[index], index % 3


def test_a_data_set_read_by_worker_processes_gives_the_probabilities_read_in_process():
    torch.manual_seed(0)
    model = googlenet(6, width=0.125, batch_norm=True, aux_heads=False, stem="small").eval()
    in_process = crop_probabilities(model, MixedSizes(workers=False), crops=10, size=16, images_at_once=4)
    by_workers = crop_probabilities(model, MixedSizes(workers=True), crops=10, size=16, images_at_once=4,
                                    num_workers=2)
    wrapped = crop_probabilities(model, DatasetImages(MixedSizes(workers=True)), crops=10, size=16, images_at_once=4,
                                 num_workers=2)
    assert in_process.mean.shape == (1, 9, 6)
    for reduced in ("mean", "max"):
        assert torch.equal(getattr(by_workers, reduced), getattr(in_process, reduced))
        assert torch.equal(getattr(wrapped, reduced), getattr(in_process, reduced))
    kept = every_crop([model], MixedSizes(workers=False).images, 10, 16)
    assert torch.allclose(in_process.mean, kept.mean(2), atol=1e-5)


def test_the_1_and_10_crops_take_the_resize_ratio_and_the_144_keep_the_papers_scales():
    model = MeanColourClassifier(3)
    # colours that grow away from the image's centre: a crop's mean colour says how much of the image it shows
    y, x = torch.meshgrid(torch.linspace(-1, 1, 40), torch.linspace(-1, 1, 56), indexing="ij")
    images = torch.stack([x ** 2, y ** 2, x * y])[None] + torch.rand(3, 3, 40, 56) * 0.1
    for crops, cutter in ((1, center_crop), (10, ten_crops)):
        expected = model(cutter(images, 32, resize_ratio=1.0).flatten(0, 1)).softmax(-1).unflatten(0, (3, crops))
        whole = predict(model, images, crops=crops, size=32, resize_ratio=1.0)
        assert torch.allclose(whole, expected.mean(1), atol=1e-6)
        assert not torch.allclose(whole, predict(model, images, crops=crops, size=32, resize_ratio=1.5), atol=1e-4)
        default = model(cutter(images, 32, resize_ratio=transforms.TEST_RESIZE_RATIO).flatten(0, 1)).softmax(-1)
        assert torch.allclose(predict(model, images, crops=crops, size=32), default.unflatten(0, (3, crops)).mean(1),
                              atol=1e-6)
    assert torch.equal(predict(model, images, crops=144, size=32, resize_ratio=1.0),
                       predict(model, images, crops=144, size=32, resize_ratio=1.5))


def test_144_crops_go_through_the_model_in_batches_of_any_size():
    images = torch.rand(2, 3, 48, 64)
    model = MeanColourClassifier(2)
    expected = model(paper_crops_144(images, 32).flatten(0, 1)).softmax(-1).unflatten(0, (2, 144)).mean(1)
    for batch_size in (7, 1000):
        assert torch.allclose(predict(model, images, crops=144, size=32, batch_size=batch_size), expected, atol=1e-6)


def test_an_ensemble_of_identical_models_is_that_model():
    torch.manual_seed(0)
    model = googlenet(10, width=0.125, batch_norm=True, aux_heads=False).eval()
    images = torch.randn(3, 3, 40, 40)
    one = predict(model, images, crops=10, size=32)
    assert torch.allclose(predict([model] * 7, images, crops=10, size=32), one, atol=1e-6)


def test_the_vectorized_ensemble_gives_the_loops_numbers():
    models = []
    for seed in range(3):
        torch.manual_seed(seed)
        models.append(googlenet(10, width=0.125, batch_norm=True, aux_heads=False).eval())
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        looped, vectorized = Ensemble(models, "loop")(x), Ensemble(models, "vmap")(x)
    assert looped.shape == (3, 4, 10)
    assert torch.allclose(looped, vectorized, atol=1e-4)
    assert not torch.allclose(looped[0], looped[1])


@pytest.mark.parametrize("kwargs, match", [(dict(crops=5), "crops"), (dict(reduce="median"), "reduce"),
                                           (dict(method="threads"), "method"), (dict(num_workers=-1), "num_workers"),
                                           (dict(images=[]), "images is empty"),
                                           (dict(images_at_once=0), "images_at_once=0")])
def test_bad_arguments_are_rejected_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        predict(MeanColourClassifier(0), **{"images": torch.rand(1, 3, 40, 40), **kwargs}, size=32)
