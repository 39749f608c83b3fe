"""Predictions over crops and ensembles: probabilities (not logits) are averaged, over crops by mean or max, and over
models; an ensemble of identical models is that model; the vectorized ensemble equals the loop."""

import pytest
import torch
from torch import nn

from reproduce.evaluate.crops import paper_crops_144, ten_crops
from reproduce.evaluate.predict import Ensemble, predict
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
                                           (dict(method="threads"), "method")])
def test_bad_arguments_are_rejected_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        predict(MeanColourClassifier(0), torch.rand(1, 3, 40, 40), size=32, **kwargs)
