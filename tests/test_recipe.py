"""The paper's constants, each asserted where training and evaluation take it from.

Sections 5-7 and Table 1 fix: crops of 8-100% of the image area with aspect ratio in [3/4, 4/3], Howard's
photometric distortions (factors 0.5-1.5), a random interpolation method (bilinear, area, nearest, cubic) and flips;
40% dropout before the main classifier; two auxiliary classifiers on 4a and 4d (1x1 conv 128, FC 1024, 70% dropout)
whose losses count 0.3 each; Figure 3's local response normalizations (Caffe's 5, 1e-4, 0.75); SGD with momentum 0.9
and the learning rate down 4% every 8 epochs; Polyak averaging for the model evaluated; and the 144 test crops
(shorter sides 256, 288, 320 and 352, three squares, four corners, the centre and the whole square, mirrored).

Each is checked on what one run of a default ``TrainConfig`` builds (only its sizes are set) or on the crops
evaluation cuts, against numbers written out here from the paper, and the run's behaviour against computations
made here by hand: the loss of a step, the learning rate at every logged step, the average of the weights after
every step, and the metrics of the averaged model.
"""

import copy
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as TF
from torch import nn
from torchvision.transforms import v2

from reproduce import data
from reproduce.data.transforms import RandomResizedCropRandomInterpolation
from reproduce.evaluate.predict import crop_probabilities
from reproduce.training import TrainConfig, TrainResult, loop, train

#: A default TrainConfig, so every part of the recipe is the paper's (or TrainConfig's where the paper says nothing),
#: at a size a test affords: 24 images of 32 px in batches of 8 (3 steps an epoch, so that the Polyak average's decay,
#: 2/3, differs from its complement) and a sixteenth of Table 1's width, for 9 epochs, so that the first decay of the
#: learning rate (after 8 epochs) falls within the run.
SIZES = dict(dataset="shapes", shapes_size=32, image_size=32, train_images=24, eval_images=16, width=0.0625,
             batch_size=8, epochs=9, device="cpu", progress=False)
STEPS_PER_EPOCH = 3


@dataclass
class Run:
    """A run of the default recipe and what it built on the way."""

    result: TrainResult
    train_set: torch.utils.data.Dataset
    eval_set: torch.utils.data.Dataset
    optimizer: torch.optim.Optimizer
    weights: list  # the model's state_dict after every optimizer step
    first_step: dict  # the first step's outputs, loss and targets


@pytest.fixture(scope="module")
def run() -> Run:
    built, weights = {}, []
    real_datasets, real_optimizer, real_step = data.datasets, loop.make_optimizer, loop.train_step

    def datasets(*args, **options):
        built["datasets"] = real_datasets(*args, **options)
        return built["datasets"]

    def make_optimizer(*args):
        built["optimizer"] = real_optimizer(*args)
        return built["optimizer"]

    def train_step(net, optimizer, images, targets, config, **options):
        outputs, loss, parts = real_step(net, optimizer, images, targets, config, **options)
        built.setdefault("first_step", {"outputs": [o.detach() for o in outputs], "loss": loss.detach(),
                                        "targets": targets})
        weights.append({name: value.detach().clone() for name, value in net.state_dict().items()})
        return outputs, loss, parts

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(data, "datasets", datasets)
        patch.setattr(loop, "make_optimizer", make_optimizer)
        patch.setattr(loop, "train_step", train_step)
        result = train(TrainConfig(**SIZES))
    return Run(result, *built["datasets"], built["optimizer"], weights, built["first_step"])


def only(steps, kind):
    """The one step of ``kind`` among a Compose's ``steps``."""
    found = [step for step in steps if type(step) is kind]
    assert len(found) == 1, (kind, steps)
    return found[0]


# Section 6: the data ----------------------------------------------------------------------------------------------

def test_the_run_trains_on_section_6_s_crops_distortions_interpolations_and_flips(run):
    steps = run.train_set.transform.transforms
    crop = only(steps, RandomResizedCropRandomInterpolation)
    assert crop.scale == pytest.approx((0.08, 1.0)) and crop.ratio == pytest.approx((3 / 4, 4 / 3))
    assert sorted(crop.interpolations) == ["area", "bicubic", "bilinear", "nearest"]
    assert only(steps, v2.RandomHorizontalFlip).p == 0.5
    howard = only(steps, v2.ColorJitter)
    assert howard.brightness == howard.contrast == howard.saturation == pytest.approx((0.5, 1.5))
    assert howard.hue is None  # not Howard's


def test_the_run_validates_on_the_centre_crop_of_the_smallest_test_scale(run):
    # 256 px shorter side for a 224 px crop: the smallest of Section 7's scales, here at 32 px
    steps = run.eval_set.transform.transforms
    assert only(steps, v2.Resize).size == [round(32 * 256 / 224)] and only(steps, v2.CenterCrop).size == (32, 32)


# Section 5 and Table 1: the network --------------------------------------------------------------------------------

def test_the_run_s_network_has_section_5_s_dropout_and_auxiliary_heads_on_4a_and_4d(run):
    model = copy.deepcopy(run.result.model).train()
    assert model.dropout.p == 0.4
    for head, site in ((model.aux1, model.inception4a), (model.aux2, model.inception4d)):
        assert head.dropout.p == 0.7
        assert head.conv.conv.kernel_size == (1, 1) and head.conv.conv.in_channels == site.out_channels
        assert head.conv.conv.out_channels == round(128 * 0.0625) and head.fc1.out_features == round(1024 * 0.0625)
        assert head.fc1.in_features == head.conv.conv.out_channels * 4 * 4 and head.fc2.out_features == 10
    seen = {}
    for name in ("inception4a", "inception4d"):
        getattr(model, name).register_forward_hook(lambda m, i, o, name=name: seen.update({name: o}))
    for name in ("aux1", "aux2"):
        getattr(model, name).register_forward_pre_hook(lambda m, i, name=name: seen.update({name: i[0]}))
    model(torch.randn(2, 3, 32, 32))
    assert seen["aux1"] is seen["inception4a"] and seen["aux2"] is seen["inception4d"]


def local_response_norm(a, size=5, alpha=1e-4, beta=0.75, k=1.0):
    """Caffe's LRN across channels, written out: each value divided by (k + alpha / size x the sum of the squares
    of the ``size`` channels centred on its own) ** beta."""
    squares, half = a.pow(2), size // 2
    total = torch.stack([squares[:, max(0, c - half):c + half + 1].sum(1) for c in range(a.shape[1])], 1)
    return a / (k + alpha / size * total) ** beta


def test_the_run_s_stem_normalizes_as_figure_3_with_caffe_s_constants(run):
    model = copy.deepcopy(run.result.model).eval()
    seen = {}
    for name in ("lrn1", "lrn2", "conv2", "maxpool2"):
        getattr(model, name).register_forward_hook(lambda m, i, o, name=name: seen.update({name: (i[0], o)}))
    model(torch.randn(2, 3, 32, 32))
    # after the first max pool and after the 3x3 convolution, each feeding the next layer
    assert seen["conv2"][0] is seen["lrn1"][1] and seen["maxpool2"][0] is seen["lrn2"][1]
    strong = 40 * torch.rand(2, 16, 5, 5)  # large enough that the normalization divides visibly
    for name in ("lrn1", "lrn2"):
        lrn = getattr(model, name)
        assert not torch.allclose(lrn(strong), strong, rtol=0.05)
        torch.testing.assert_close(lrn(strong), local_response_norm(strong))


# Sections 5 and 6: the loss, the optimizer, the schedule, Polyak averaging ------------------------------------------

def test_a_step_s_loss_is_the_unsmoothed_cross_entropy_plus_0_3_times_each_auxiliary_one(run):
    step = run.first_step
    main, aux1, aux2 = (F.cross_entropy(logits, step["targets"]) for logits in step["outputs"])
    torch.testing.assert_close(step["loss"], main + 0.3 * aux1 + 0.3 * aux2, rtol=1e-6, atol=0)


def test_the_run_steps_sgd_with_momentum_0_9_over_every_weight(run):
    optimizer = run.optimizer
    assert type(optimizer) is torch.optim.SGD
    assert (optimizer.defaults["momentum"], optimizer.defaults["dampening"], optimizer.defaults["nesterov"]) == \
        (0.9, 0, False)
    stepped = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert stepped == {id(p) for p in run.result.model.parameters()}


def test_the_logged_learning_rate_drops_4_percent_every_8_epochs(run):
    base = TrainConfig().lr  # the paper gives no base rate
    steps = run.result.steps
    assert [row["step"] for row in steps] == list(range(STEPS_PER_EPOCH, 9 * STEPS_PER_EPOCH + 1, STEPS_PER_EPOCH))
    for row in steps:  # logged after the row's step: the rate of the next one
        assert row["lr"] == pytest.approx(base * 0.96 ** (row["step"] // (8 * STEPS_PER_EPOCH)), rel=1e-12), row
    for row in run.result.history:  # the rate each epoch started with
        started = (row["epoch"] - 1) * STEPS_PER_EPOCH
        assert row["lr"] == pytest.approx(base * 0.96 ** (started // (8 * STEPS_PER_EPOCH)), rel=1e-12), row
    assert steps[-1]["lr"] == pytest.approx(base * 0.96)  # the decay did come within the run


def test_the_averaged_weights_are_an_ema_of_every_step_s_weights_with_a_time_constant_of_one_epoch(run):
    decay = 1 - 1 / STEPS_PER_EPOCH
    average = dict(run.weights[0])  # the first update copies the weights
    for weights in run.weights[1:]:
        average = {name: decay * average[name] + (1 - decay) * value for name, value in weights.items()}
    assert len(run.weights) == 9 * STEPS_PER_EPOCH
    averaged = run.result.averaged.state_dict()
    assert set(averaged) == set(average)
    for name, value in average.items():
        torch.testing.assert_close(averaged[name], value, rtol=1e-5, atol=1e-6, msg=name)
    assert not torch.allclose(average["fc.weight"], run.weights[-1]["fc.weight"])  # it lags the raw weights


@torch.no_grad()
def scored_by_hand(model, dataset):
    """Loss, top-1 and top-5 of ``model`` on every image of ``dataset``: the target's rank among the logits."""
    images = torch.stack([dataset[i][0] for i in range(len(dataset))])
    targets = torch.tensor([dataset[i][1] for i in range(len(dataset))])
    logits = copy.deepcopy(model).eval()(images)
    rank = (logits > logits.gather(1, targets[:, None])).sum(1)  # 0: the target scores highest
    return {"loss": F.cross_entropy(logits, targets).item(), "top1": (rank < 1).float().mean().item(),
            "top5": (rank < 5).float().mean().item()}


def test_the_polyak_metrics_are_the_averaged_model_s_and_the_others_the_raw_model_s(run):
    last = run.result.history[-1]
    for prefix, model in (("", run.result.model), ("polyak_", run.result.averaged)):
        expected = scored_by_hand(model, run.eval_set)
        assert last[f"{prefix}val_loss"] == pytest.approx(expected["loss"], rel=1e-5), prefix
        assert (last[f"{prefix}val_top1"], last[f"{prefix}val_top5"]) == \
            pytest.approx((expected["top1"], expected["top5"])), prefix
    assert last["val_loss"] != pytest.approx(last["polyak_val_loss"], rel=1e-3)  # so a swap would show


# Section 7: the 144 crops -------------------------------------------------------------------------------------------

class Recorder(nn.Module):
    """A classifier that keeps every crop it is shown."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(2, 3))
        self.crops = []

    def forward(self, x):
        self.crops.append(x.clone())
        return x.mean((2, 3)) @ self.weight.T


def section_7_crops(image):
    """The 144 crops of Section 7 cut by hand from one image, in the order the evaluation cuts them: per shorter
    side (256, 288, 320, 352), per square (left, centre, right; top, centre, bottom in a portrait image), the four
    224 px corners, the centre and the whole square resized; then the mirror of each."""
    crops = []
    for shorter in (256, 288, 320, 352):
        resized = TF.resize(image, [shorter], antialias=True)
        longer = max(resized.shape[-2:])
        for start in (0, (longer - shorter) // 2, longer - shorter):
            if resized.shape[-1] >= resized.shape[-2]:
                square = resized[:, :, start:start + shorter]
            else:
                square = resized[:, start:start + shorter, :]
            far = shorter - 224
            for top, left in ((0, 0), (0, far), (far, 0), (far, far), (far // 2, far // 2)):
                crops.append(square[:, top:top + 224, left:left + 224])
            crops.append(F.interpolate(square[None], size=(224, 224), mode="bilinear", antialias=True,
                                       align_corners=False)[0])
    return torch.stack(crops + [crop.flip(-1) for crop in crops])


def test_evaluation_cuts_the_144_crops_of_section_7_at_224_px():
    image = torch.rand(3, 300, 400)  # landscape (tests/test_crops.py checks portrait images on smaller crops)
    recorder = Recorder()
    crop_probabilities(recorder, image[None], crops=144, size=224, batch_size=144)
    (shown,) = recorder.crops
    assert shown.shape == (144, 3, 224, 224)
    torch.testing.assert_close(shown, section_7_crops(image), rtol=0, atol=1e-5)
