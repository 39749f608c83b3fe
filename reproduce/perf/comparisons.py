"""The contenders, each comparison measured side by side in one run against a reference: torchvision's GoogLeNet in a
plain eager loop, ``torch.compile``, a naive per-crop evaluation loop, running ensemble members one by one, and the
training step that consumes the embedded data."""

from __future__ import annotations

import time
from typing import Callable

import torch
import torch.nn.functional as F
import torchvision
import torchvision.transforms.v2.functional as TF
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.flop_counter import FlopCounterMode

from ..device import resolve_device
from ..evaluate.crops import CROP_KINDS, PAPER_CROP, crop_regions
from ..evaluate.predict import crop_probabilities, cut_crops, default_batch_size, images_per_cut
from ..models import googlenet, googlenet_torchvision
from ..training.config import TrainConfig
from ..training.loop import googlenet_loss, make_optimizer, train_step
from .measure import count_flops, interleaved_seconds, synchronize



#: Calls of ``members`` x ``batch_size`` images each that :func:`ensemble_comparison` makes at its default rounds:
#: four contenders (training in a loop and stacked, inference in a loop and under vmap), each once untimed and
#: ``rounds`` times timed. The plan counts them all as training calls (:mod:`reproduce.book.plan`).
SPEED_TEST_CALLS = 4 * (1 + 3)


def ensemble_comparison(config: TrainConfig, members: int = 7, *, batch_size: int = 64, num_classes: int = 10,
                        rounds: int = 3) -> dict:
    """Measure, on ``config``'s device and architecture, ``members`` models trained one after another (each with its
    own optimizer and batch of ``batch_size``) against :class:`~reproduce.training.ensemble.StackedEnsemble`, and
    inference by ``Ensemble(method="loop")`` against ``"vmap"`` (:func:`interleaved_seconds`). Returns model-images
    per second of each and the two ratios (stacked or vmap over loop: above 1 means the vectorized form is faster)."""
    from ..evaluate import Ensemble
    from ..training.ensemble import StackedEnsemble

    device = resolve_device(config.device)
    size = config.image_size

    def build():
        torch.manual_seed(0)
        return [googlenet(num_classes, **config.model_options()).to(device).to(memory_format=torch.channels_last)
                for _ in range(members)]

    generator = torch.Generator().manual_seed(0)
    images = torch.randn(members, batch_size, 3, size, size, generator=generator).to(device)
    targets = torch.randint(0, num_classes, (members, batch_size), generator=generator).to(device)
    looped = build()
    optimizers = [make_optimizer(config, model.parameters()) for model in looped]

    def loop_step():
        for model, optimizer, x, y in zip(looped, optimizers, images, targets):
            model.train()
            loss, _ = googlenet_loss(model(x.contiguous(memory_format=torch.channels_last)), y,
                                     aux_weight=config.aux_weight, label_smoothing=config.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    stacked = StackedEnsemble(build(), config)
    work = members * batch_size
    seconds = interleaved_seconds({"train, one after another": loop_step,
                                   "train, stacked (vmap)": lambda: stacked.train_step(images, targets)},
                                  device, rounds=rounds)
    batch = images[0].contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        ensembles = {method: Ensemble([model.eval() for model in build()], method=method) for method in ("loop", "vmap")}
        seconds.update(interleaved_seconds({f"inference, {method}": (lambda e=ensemble: e(batch))
                                            for method, ensemble in ensembles.items()}, device, rounds=rounds))
    speeds = {name: work / value for name, value in seconds.items()}
    return {"device": str(device), "members": members, "batch_size": batch_size, "image_size": size,
            "images_per_second": speeds,
            "train_stacked_vs_loop": speeds["train, stacked (vmap)"] / speeds["train, one after another"],
            "inference_vmap_vs_loop": speeds["inference, vmap"] / speeds["inference, loop"]}


def _fast_paths(device: torch.device) -> bool:
    """bf16 autocast on CUDA (the training loop's default there); fp32 on the CPU, whose AVX2 has no fast bf16."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    return device.type == "cuda"


def _torchvision_googlenet(device: torch.device, num_classes: int = 1000) -> nn.Module:
    """torchvision's GoogLeNet: NCHW on the CPU (the baseline a user would run there), channels_last on CUDA like
    reproduce's, so that a GPU comparison is of the code alone."""
    torch.manual_seed(0)
    model = torchvision.models.googlenet(weights=None, num_classes=num_classes, aux_logits=True,
                                         init_weights=True).to(device)
    return model.to(memory_format=torch.channels_last) if device.type == "cuda" else model


def _like_reference(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """The input in the reference model's layout (see :func:`_torchvision_googlenet`)."""
    return images.contiguous(memory_format=torch.channels_last) if device.type == "cuda" else images


def _reproduce_googlenet(device: torch.device, num_classes: int = 1000) -> nn.Module:
    torch.manual_seed(0)
    return googlenet_torchvision(num_classes).to(device).to(memory_format=torch.channels_last)


def _batch(batch_size: int, image_size: int, device: torch.device, num_classes: int = 1000):
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(batch_size, 3, image_size, image_size, generator=generator).to(device)
    return images, torch.randint(0, num_classes, (batch_size,), generator=generator).to(device)


def training_steps(image_size: int, batch_size: int, device: torch.device) -> tuple[dict[str, Callable], bool]:
    """One training step each (forward with both auxiliary heads, the loss of Section 5, backward, SGD with
    momentum), ready to call: ``"torchvision"``, torchvision's GoogLeNet in a plain eager loop (NCHW fp32 on the
    CPU; on CUDA in the same bf16 autocast and channels_last as reproduce's, so that the two differ only in their
    code); ``"reproduce"``, reproduce's torchvision-compatible GoogLeNet in
    :func:`reproduce.training.loop.train_step` (channels_last; bf16 autocast on CUDA). The arithmetic is the same:
    the two state_dicts are key for key alike. Also returns whether autocast is on."""
    amp = _fast_paths(device)
    config = TrainConfig(optimizer="sgd", lr=0.01, weight_decay=0.0, device=str(device))
    images, targets = _batch(batch_size, image_size, device)
    reference = _torchvision_googlenet(device).train()
    reference_images = _like_reference(images, device)
    reference_optimizer = torch.optim.SGD(reference.parameters(), lr=0.01, momentum=0.9)

    def reference_step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            logits, aux2, aux1 = reference(reference_images)
        loss = F.cross_entropy(logits, targets) + 0.3 * (F.cross_entropy(aux1, targets) +
                                                         F.cross_entropy(aux2, targets))
        reference_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        reference_optimizer.step()

    ours = _reproduce_googlenet(device).train()
    optimizer = make_optimizer(config, ours.parameters())
    ours_images = images.contiguous(memory_format=torch.channels_last)

    def ours_step():
        train_step(ours, optimizer, ours_images, targets, config, amp=amp)

    return {"torchvision": reference_step, "reproduce": ours_step}, amp


def training_comparison(image_size: int, batch_size: int, device: torch.device, *, rounds: int = 5,
                        progress: bool = False) -> dict:
    """The two training steps of :func:`training_steps`, timed side by side."""
    steps, amp = training_steps(image_size, batch_size, device)
    flops = count_flops(steps["reproduce"])
    seconds = interleaved_seconds(steps, device, rounds=rounds, progress=progress, desc=f"training, {image_size} px")
    return _compared(seconds, batch_size, flops, image_size=image_size, batch_size=batch_size, amp=amp)


def inference_comparison(image_size: int, batch_size: int, device: torch.device, *, rounds: int = 5,
                         progress: bool = False) -> dict:
    """Inference (eval mode, no autograd) of torchvision's GoogLeNet, eager NCHW fp32, against reproduce's
    torchvision-compatible GoogLeNet as the evaluator runs it (channels_last; bf16 autocast on CUDA)."""
    amp = _fast_paths(device)
    images, _ = _batch(batch_size, image_size, device)
    reference = _torchvision_googlenet(device).eval()
    reference_images = _like_reference(images, device)
    ours = _reproduce_googlenet(device).eval()
    ours_images = images.contiguous(memory_format=torch.channels_last)

    @torch.no_grad()
    def reference_call():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            reference(reference_images)

    @torch.no_grad()
    def ours_call():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            ours(ours_images)

    flops = count_flops(ours_call)
    seconds = interleaved_seconds({"torchvision": reference_call, "reproduce": ours_call}, device, rounds=rounds,
                                  progress=progress, desc=f"inference, {image_size} px")
    return _compared(seconds, batch_size, flops, image_size=image_size, batch_size=batch_size, amp=amp)


def _compared(seconds: dict[str, float], images: int, flops: int, **details) -> dict:
    return {**details, "images_per_second": {name: images / s for name, s in seconds.items()},
            "ratio": seconds["torchvision"] / seconds["reproduce"], "flops_per_image": flops / images,
            "flops_per_second": flops / seconds["reproduce"]}


def compile_comparison(image_size: int, batch_size: int, device: torch.device, *, rounds: int = 5,
                       progress: bool = False) -> dict:
    """``torch.compile`` of reproduce's torchvision-compatible GoogLeNet against the same model eager, for a
    training step and for inference, each with its compile time (the first call) apart. ``break_even_images``: how
    many images the compiled form must process before its compile time is paid back (None where it is slower). The
    compile time is a first compile, with an empty Inductor cache (a second run on the same machine compiles from
    its cache, many times faster)."""
    result = {"image_size": image_size, "batch_size": batch_size}
    from torch._inductor.utils import fresh_cache  # private: imported only where a compile is timed

    with fresh_cache():  # compiled from scratch: no earlier run's cache
        for mode in ("training", "inference"):
            torch._dynamo.reset()
            result[mode] = _compiled_against_eager(mode, image_size, batch_size, device, rounds, progress)
    return result


def _compiled_against_eager(mode: str, image_size: int, batch_size: int, device: torch.device, rounds: int,
                            progress: bool) -> dict:
    amp = _fast_paths(device)
    config = TrainConfig(optimizer="sgd", lr=0.01, weight_decay=0.0, device=str(device))
    images, targets = _batch(batch_size, image_size, device)
    images = images.contiguous(memory_format=torch.channels_last)
    eager = _reproduce_googlenet(device).train(mode == "training")
    optimizer = make_optimizer(config, eager.parameters())

    def run(net):
        if mode == "training":
            return lambda: train_step(net, optimizer, images, targets, config, amp=amp)

        @torch.no_grad()
        def infer():
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                net(images)
        return infer

    compiled = torch.compile(eager)
    synchronize(device)
    started = time.perf_counter()
    run(compiled)()
    synchronize(device)
    compile_seconds = time.perf_counter() - started
    seconds = interleaved_seconds({"eager": run(eager), "compiled": run(compiled)}, device, rounds=rounds,
                                  progress=progress, desc=f"compile, {mode}")
    saved_per_image = (seconds["eager"] - seconds["compiled"]) / batch_size
    return {"compile_seconds": compile_seconds,
            "images_per_second": {name: batch_size / s for name, s in seconds.items()},
            "ratio": seconds["eager"] / seconds["compiled"],
            "break_even_images": compile_seconds / saved_per_image if saved_per_image > 0 else None}


#: How :func:`training_profile` groups the operators of a training step (by the start of their names).
PROFILE_GROUPS = {
    "convolution, forward": ("aten::mkldnn_convolution", "aten::cudnn_convolution", "aten::_convolution",
                             "aten::convolution_overrideable", "aten::thnn_conv2d", "aten::_slow_conv2d_forward"),
    "convolution, backward": ("aten::convolution_backward", "aten::_slow_conv2d_backward"),
    "matrix products": ("aten::mm", "aten::addmm", "aten::bmm"),
    "batch norm": ("aten::native_batch_norm", "aten::_batch_norm", "aten::cudnn_batch_norm",
                   "aten::native_batch_norm_backward"),
    "ReLU": ("aten::relu", "aten::clamp_min", "aten::threshold_backward"),
    "pooling": ("aten::max_pool2d", "aten::avg_pool2d", "aten::adaptive_avg_pool2d", "aten::_adaptive_avg_pool2d"),
    "concatenation and copies": ("aten::cat", "aten::copy_", "aten::clone", "aten::contiguous"),
    "gradient sums and optimizer": ("aten::add_", "aten::mul_", "aten::addcmul_", "aten::addcdiv_", "aten::lerp_",
                                    "aten::_foreach", "aten::_fused"),
}


_COUNTED_FLOPS = {"convolution, forward": ("convolution",), "convolution, backward": ("convolution_backward",),
                      "matrix products": ("mm", "addmm", "bmm")}


def _seconds_by_group(step: Callable[[], object], device: torch.device, steps: int) -> dict[str, float]:
    from torch.profiler import ProfilerActivity, profile

    cuda = device.type == "cuda"
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA] if cuda else [ProfilerActivity.CPU]) as run:
        for _ in range(steps):
            step()
        synchronize(device)
    # On a GPU: the device time of the kernels each operator launched (the kernels' own rows would count it twice).
    attribute = "self_device_time_total" if cuda else "self_cpu_time_total"
    seconds = {name: 0.0 for name in [*PROFILE_GROUPS, "other"]}
    for event in run.key_averages():
        if cuda and not event.key.startswith("aten::"):
            continue
        group = next((name for name, prefixes in PROFILE_GROUPS.items() if event.key.startswith(prefixes)), "other")
        seconds[group] += getattr(event, attribute) / 1e6 / steps
    return seconds


def training_profile(image_size: int, batch_size: int, device: torch.device, *, steps: int = 2) -> dict:
    """Where the time of a training step goes (:func:`training_steps`, both of them): ``torch.profiler``'s self time
    of every operator, grouped by :data:`PROFILE_GROUPS` (the rest is "other"). ``shares``: reproduce's step, as
    shares of its total; ``speedup``: torchvision's time over reproduce's, group by group; ``flops_per_second``:
    reproduce's rate in the groups that do counted FLOPs. This is what explains a ratio and a share of the peak."""
    calls, _ = training_steps(image_size, batch_size, device)
    for step in calls.values():
        step()
    with FlopCounterMode(display=False) as counter:
        calls["reproduce"]()
    flops_by_op = {str(op).split(".")[1]: n for op, n in counter.get_flop_counts()["Global"].items()}
    seconds = {name: _seconds_by_group(step, device, steps) for name, step in calls.items()}
    ours, total = seconds["reproduce"], sum(seconds["reproduce"].values())
    return {"image_size": image_size, "batch_size": batch_size, "seconds": seconds,
            "shares": {name: value / total for name, value in ours.items()},
            "speedup": {name: seconds["torchvision"][name] / value for name, value in ours.items() if value > 0},
            "flops_per_second": {group: sum(flops_by_op.get(op, 0) for op in ops) / ours[group]
                                 for group, ops in _COUNTED_FLOPS.items() if ours[group] > 0}}


def naive_crop_probabilities(model: nn.Module, image: torch.Tensor, crop: int = PAPER_CROP) -> torch.Tensor:
    """The 144 crops of Section 7 cut and classified one at a time, the way a direct reading of the paper's
    procedure loops: for every crop, resize the image, cut the crop (or resize the whole square), mirror it, run the
    model on it alone. The reference that :func:`reproduce.evaluate.crop_probabilities` is measured against: the
    same crops (:func:`reproduce.evaluate.crops.crop_regions`), in the same order as ``paper_crops_144``.
    ``image``: (C, H, W) -> softmax probabilities (144, classes)."""
    parameter = next(model.parameters())
    rows = []
    for mirrored in (False, True):
        for region in crop_regions(*image.shape[-2:], crop):
            resized = TF.resize(image[None], [region.shorter], antialias=True)
            part = resized[..., region.top:region.bottom, region.left:region.right]
            if region.kind == CROP_KINDS[5]:  # the whole square, resized
                part = F.interpolate(part, size=(crop, crop), mode="bilinear", antialias=True, align_corners=False)
            if mirrored:
                part = part.flip(-1)
            part = part.to(parameter.device).contiguous(memory_format=torch.channels_last)
            with torch.no_grad():
                rows.append(model(part).float().softmax(-1).cpu())
    return torch.cat(rows)


def crops_comparison(model: nn.Module, images: torch.Tensor, crop: int, device: torch.device, *, rounds: int = 3,
                     progress: bool = False) -> dict:
    """The 144-crop evaluator (:func:`reproduce.evaluate.crop_probabilities`: whole images moved to the device, crops
    cut there a few images at a time, run in batches and reduced over each image's crops) against the model alone on
    the same crops already cut on the device (in the same batches, with the same autocast), and against
    :func:`naive_crop_probabilities` on every image. ``overhead``: the evaluator's time over the model's, minus 1."""
    model = model.to(device).to(memory_format=torch.channels_last).eval()
    batch_size = default_batch_size(model, crop, device)
    ready = [part.contiguous(memory_format=torch.channels_last)  # the evaluator's batches, cut already
             for chunk in images.to(device).split(images_per_cut(144, crop, device))
             for part in cut_crops(chunk, 144, crop).flatten(0, 1).split(batch_size)]

    @torch.no_grad()
    def model_alone():
        for part in ready:
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                model(part).float().softmax(-1)

    calls = {"evaluator": lambda: crop_probabilities(model, images, crops=144, size=crop, batch_size=batch_size),
             "model alone": model_alone,
             "naive loop": lambda: [naive_crop_probabilities(model, image, crop) for image in images]}
    seconds = interleaved_seconds(calls, device, rounds=rounds, progress=progress, desc=f"144 crops, {crop} px")
    return {"crop": crop, "images": len(images), "image_size": list(images.shape[-2:]), "batch_size": batch_size,
            "crops_per_second": {name: 144 * len(images) / s for name, s in seconds.items()},
            "overhead": seconds["evaluator"] / seconds["model alone"] - 1,
            "speedup_over_naive": seconds["naive loop"] / seconds["evaluator"]}


def data_comparison(config: TrainConfig, *, images: int = 1024, rounds: int = 3, progress: bool = False) -> dict:
    """The embedded data set against the training step that consumes it, at ``config``'s sizes: rendering new
    images (once per data set), the training augmentation of each epoch through a DataLoader, and
    :func:`reproduce.training.loop.train_step` of ``config``'s model; then whole epochs (loading and training) with
    the loader in the training process (``num_workers=0``, the book's setting) and with one worker process.
    ``loading_share``: the part of an epoch spent waiting for data when loading and training take turns."""
    from ..data.synthetic import generate

    device = resolve_device(config.device)
    amp = _fast_paths(device)
    train_set, _ = config.training_sets(train_images=images, eval_images=config.batch_size)
    loaders = {workers: DataLoader(train_set, batch_size=config.batch_size, shuffle=True, num_workers=workers,
                                   drop_last=True) for workers in (0, 1)}
    torch.manual_seed(config.seed)
    model = googlenet(len(train_set.classes), **config.model_options()).to(device)
    model = model.to(memory_format=torch.channels_last).train()
    optimizer = make_optimizer(config, model.parameters())
    batch, targets = next(iter(loaders[0]))
    batch, targets = batch.to(device).contiguous(memory_format=torch.channels_last), targets.to(device)

    def epoch(workers: int) -> Callable[[], None]:
        def run():
            for images_, targets_ in loaders[workers]:
                images_ = images_.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
                train_step(model, optimizer, images_, targets_.to(device, non_blocking=True), config, amp=amp)
        return run

    calls = {"render": lambda: generate(images, config.shapes_size, seed=config.data_seed),
             "augment and batch": lambda: sum(1 for _ in loaders[0]),
             "train step": lambda: train_step(model, optimizer, batch, targets, config, amp=amp),
             "epoch, no workers": epoch(0), "epoch, 1 worker": epoch(1)}
    seconds = interleaved_seconds(calls, device, rounds=rounds, progress=progress, desc="data")
    loaded = len(loaders[0]) * config.batch_size
    rates = {"render": images / seconds["render"], "train step": config.batch_size / seconds["train step"],
             **{name: loaded / seconds[name] for name in ("augment and batch", "epoch, no workers",
                                                           "epoch, 1 worker")}}
    waiting = 1 / rates["augment and batch"]
    return {"augmentation": {k: getattr(config, k) for k in ("crop", "photometric", "random_interpolation", "flip")},
            "images": images, "image_size": config.image_size, "width": config.width,
            "batch_size": config.batch_size, "images_per_second": rates,
            "augment_vs_train": rates["augment and batch"] / rates["train step"],
            "loading_share": waiting / (waiting + 1 / rates["train step"])}

