"""Throughput of the reproduction's code paths, measured side by side in one run against a reference: torchvision's
GoogLeNet in a plain eager loop, the machine's own matrix-multiply peak, a naive per-crop evaluation loop, running
ensemble members one by one, and the training step that consumes the embedded data. ``benchmarks/throughput.py``
runs them all and writes the JSON that the Performance appendix of the book shows.

Every comparison times its contenders in alternating rounds (:func:`interleaved_seconds`) and reports the median of
each, so that a drift of the machine's speed during the run affects both sides alike: the ratios are the result, the
bare times only describe this machine. FLOPs are counted by ``torch.utils.flop_counter`` (a multiply-add is two
FLOPs; convolutions, matrix products and their gradients are counted, element-wise work is not).
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from datetime import datetime, timezone
from typing import Callable

import pandas as pd
import torch
import torch.nn.functional as F
import torchvision
import torchvision.transforms.v2.functional as TF
from torch import nn
from torch._inductor.utils import fresh_cache
from torch.utils.data import DataLoader
from torch.utils.flop_counter import FlopCounterMode
from tqdm import tqdm

from .evaluate.crops import CROP_KINDS, PAPER_CROP, crop_regions
from .evaluate.predict import crop_probabilities, cut_crops, default_batch_size, images_per_cut
from .models import googlenet, googlenet_torchvision
from .device import resolve_device
from .training.config import BOOK_CONFIG, TrainConfig
from .training.loop import googlenet_loss, make_optimizer, train_step


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved_seconds(calls: dict[str, Callable[[], object]], device: torch.device, *, rounds: int = 5,
                        warmup: int = 1, progress: bool = False, desc: str = "") -> dict[str, float]:
    """Seconds per call of each of ``calls``: ``warmup`` untimed calls of each, then ``rounds`` rounds in which each
    is timed once, in turn; the median over the rounds."""
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    for call in calls.values():
        for _ in range(warmup):
            call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in tqdm(range(rounds), desc=desc, unit="round", disable=not progress, leave=False):
        for name, call in calls.items():
            synchronize(device)
            started = time.perf_counter()
            call()
            synchronize(device)
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def ensemble_comparison(config: TrainConfig, members: int = 7, *, batch_size: int = 64, num_classes: int = 10,
                        rounds: int = 3) -> dict:
    """Measure, on ``config``'s device and architecture, ``members`` models trained one after another (each with its
    own optimizer and batch of ``batch_size``) against :class:`~reproduce.training.ensemble.StackedEnsemble`, and
    inference by ``Ensemble(method="loop")`` against ``"vmap"`` (:func:`interleaved_seconds`). Returns model-images
    per second of each and the two ratios (stacked or vmap over loop: above 1 means the vectorized form is faster)."""
    from .evaluate import Ensemble
    from .training.ensemble import StackedEnsemble

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


def count_flops(call: Callable[[], object]) -> int:
    """FLOPs of one call of ``call``, as ``torch.utils.flop_counter`` counts them."""
    with FlopCounterMode(display=False) as counter:
        call()
    return counter.get_total_flops()


def matmul_peak(device: torch.device, *, sizes: tuple[int, ...] = (1024, 2048, 3072), rounds: int = 3,
                dtype: torch.dtype = torch.float32) -> dict:
    """The matrix-multiply peak of ``device`` in ``dtype`` as this torch build reaches it: square products of each
    size, the best median FLOP/s. (On CUDA the TF32 tensor cores stay off for fp32, as they do for the fp32 models
    here; a bf16 model is measured against the bf16 peak.)"""
    best = {"flops_per_second": 0.0, "size": None, "dtype": str(dtype).removeprefix("torch.")}
    for size in sizes:
        a, b = (torch.randn(size, size, device=device, dtype=dtype) for _ in range(2))
        seconds = interleaved_seconds({"mm": lambda: a @ b}, device, rounds=rounds)["mm"]
        rate = 2 * size ** 3 / seconds
        if rate > best["flops_per_second"]:
            best = {**best, "flops_per_second": rate, "size": size}
    return best


def machine(device: torch.device) -> dict:
    """What the numbers were measured on."""
    processor = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            processor = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"device": str(device), "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
            "processor": processor, "cores": os.cpu_count(), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "torchvision": torchvision.__version__, "python": platform.python_version()}


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
    from .data import datasets
    from .data.synthetic import generate

    device = resolve_device(config.device)
    amp = _fast_paths(device)
    train_set, _ = datasets(config.dataset, image_size=config.image_size, shapes_size=config.shapes_size,
                            train_images=images, eval_images=config.batch_size, data_seed=config.data_seed,
                            crop=config.crop, crop_scale=(config.crop_min_scale, 1.0),
                            photometric=config.photometric, random_interpolation=config.random_interpolation,
                            flip=config.flip)
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


#: Section 6's augmentation, all of it (the book's runs use flips only; see the Training chapter).
PAPER_AUGMENTATION = dict(crop=True, photometric=True, random_interpolation=True, flip=True)

#: What the issue asks of each ratio, and in which direction: (target, "at least" or "at most").
TARGETS = {"training vs torchvision": (1.3, "at least"), "inference vs torchvision": (1.6, "at least"),
           "training, share of matmul peak": (0.8, "at least"), "inference, share of matmul peak": (0.7, "at least"),
           "144 crops, cutting overhead": (0.1, "at most"), "144 crops vs naive loop": (5.0, "at least")}


def suite(device: str = "auto", *, sizes: tuple[int, ...] = (224, 64), batch_sizes: dict[int, int] | None = None,
          crop_images: dict[int, int] | None = None, members: int = 7, data_images: int = 1024, rounds: int = 7,
          compile: bool = True, book: TrainConfig = BOOK_CONFIG, progress: bool = True) -> dict:
    """Every comparison of this module, in one run on one machine; what ``benchmarks/throughput.py`` writes.

    ``sizes``: input sides for the torchvision comparisons and the 144-crop evaluator (224: ImageNet's; 64: the
    book's). ``batch_sizes``: images per step at each size (default 16 at 224 px and 64 below). ``crop_images``:
    images per 144-crop comparison at each size (4:3 landscapes, 1.6x the crop's side tall; default 2 at 224 px and
    8 below). ``data_images``: images rendered and
    augmented per round of the data comparison. ``compile``: also time
    ``torch.compile`` at the smallest size (about three minutes of compiling on a 2-core CPU)."""
    target = resolve_device(device)
    gpu = target.type == "cuda"  # a GPU needs large batches to be busy
    batch_sizes = {size: (128 if gpu else 16) if size >= 160 else (256 if gpu else 64) for size in sizes} | (
        batch_sizes or {})
    crop_images = {size: 2 if size >= 160 else 8 for size in sizes} | (crop_images or {})
    book = book.replace(device=str(target), progress=False)
    from .book import _git_commit

    result: dict = {"machine": machine(target), "rounds": rounds, "git_commit": _git_commit(),
                    "measured": datetime.now(timezone.utc).isoformat(timespec="minutes")}
    step = tqdm(total=5 + compile, desc="benchmarks", unit="part", disable=not progress)
    result["matmul_peak"] = matmul_peak(target)
    peaks = {False: result["matmul_peak"]["flops_per_second"]}  # by whether autocast (bf16) is on
    if gpu:
        result["matmul_peak_bf16"] = matmul_peak(target, dtype=torch.bfloat16, sizes=(4096, 8192))
        peaks[True] = result["matmul_peak_bf16"]["flops_per_second"]
    peak = peaks[gpu]
    result["training"], result["inference"] = [], []
    result["training_profile"] = [training_profile(size, batch_sizes[size], target) for size in sizes]
    for size in sizes:
        result["training"].append(training_comparison(size, batch_sizes[size], target, rounds=rounds,
                                                       progress=progress))
        result["inference"].append(inference_comparison(size, batch_sizes[size], target, rounds=rounds,
                                                        progress=progress))
    for row in result["training"] + result["inference"]:
        row["share_of_peak"] = row["flops_per_second"] / peaks[row["amp"]]
    for row in result["training_profile"]:
        row["share_of_peak"] = {group: rate / peak for group, rate in row["flops_per_second"].items()}
    step.update()
    if compile:
        result["compile"] = compile_comparison(min(sizes), batch_sizes[min(sizes)], target, rounds=rounds,
                                               progress=progress)
        step.update()
    result["crops"] = []
    for size in sizes:
        generator = torch.Generator().manual_seed(0)
        images = torch.rand(crop_images[size], 3, round(size * 1.6), round(size * 1.6 * 4 / 3), generator=generator)
        torch.manual_seed(0)
        model = (googlenet_torchvision(1000, aux_heads=False) if size >= 160 else
                 googlenet(10, **{**book.model_options(), "aux_heads": False}))
        result["crops"].append({"model": "torchvision-compatible" if size >= 160 else f"book (width {book.width})",
                                **crops_comparison(model, images, size, target, rounds=max(1, rounds // 2),
                                                   progress=progress)})
    step.update()

    result["ensemble"] = ensemble_comparison(book, members, batch_size=book.batch_size, rounds=max(1, rounds // 2))
    step.update()
    result["data"] = [data_comparison(book, images=data_images, rounds=rounds, progress=progress),
                      data_comparison(book.replace(**PAPER_AUGMENTATION), images=data_images, rounds=rounds,
                                      progress=progress)]
    step.update()
    step.close()
    result["targets"] = targets(result)
    return result


def targets(result: dict) -> list[dict]:
    """Each target of :data:`TARGETS` against what ``result`` measured, one row per size."""
    measured = []
    for row in result["training"]:
        measured += [("training vs torchvision", row["image_size"], row["ratio"]),
                     ("training, share of matmul peak", row["image_size"], row["share_of_peak"])]
    for row in result["inference"]:
        measured += [("inference vs torchvision", row["image_size"], row["ratio"]),
                     ("inference, share of matmul peak", row["image_size"], row["share_of_peak"])]
    for row in result["crops"]:
        measured += [("144 crops, cutting overhead", row["crop"], row["overhead"]),
                     ("144 crops vs naive loop", row["crop"], row["speedup_over_naive"])]
    rows = []
    for name, size, value in measured:
        goal, direction = TARGETS[name]
        met = value >= goal if direction == "at least" else value <= goal
        rows.append({"measure": name, "image_size": size, "value": value, "target": goal, "direction": direction,
                     "met": met})
    return sorted(rows, key=lambda row: (list(TARGETS).index(row["measure"]), -row["image_size"]))


def _formatted(measure: str, value: float) -> str:
    if "share" in measure:
        return f"{value:.0%}"
    if "overhead" in measure:
        return f"{value:+.1%}"
    return f"{value:.2f}x"


def targets_table(result: dict) -> pd.DataFrame:
    """The targets against the measurements, formatted for printing and for the book."""
    return pd.DataFrame([{"measure": row["measure"], "size (px)": row["image_size"],
                          "measured": _formatted(row["measure"], row["value"]),
                          "target": ("≥ " if row["direction"] == "at least" else "≤ ")
                          + _formatted(row["measure"], row["target"]).lstrip("+"),
                          "met": "yes" if row["met"] else "no"} for row in targets(result)])


def machine_line(result: dict) -> str:
    """One sentence naming the machine and the software a result was measured with."""
    where = result["machine"]
    device = f"an {where['gpu']}" if where.get("gpu") else f"the CPU ({where['processor']}, {where['cores']} cores)"
    commit = f", commit `{result['git_commit'][:12]}`" if result.get("git_commit") else ""
    when = (datetime.fromisoformat(result["measured"]).strftime("%Y-%m-%d at %H:%M UTC") if result.get("measured")
            else "an unrecorded date")
    return (f"Measured on {device} with {where['threads']} threads, torch {where['torch']} and torchvision "
            f"{where['torchvision']}, on {when}{commit}; the fp32 "
            f"matrix-multiply peak measured in the same run was "
            f"{result['matmul_peak']['flops_per_second'] / 1e9:.0f} GFLOP/s.")


def findings(result: dict) -> dict[str, str]:
    """What the measurements say, one paragraph per part, written from ``result`` (the notebook of the Performance
    appendix shows them, so a rerun on another machine rewrites them)."""
    text = {}
    parts = []
    for profile in result.get("training_profile", []):
        shares = profile["shares"]
        convolution = shares["convolution, forward"] + shares["convolution, backward"]
        counted = convolution + shares["matrix products"]
        rates = profile.get("share_of_peak", {})
        training = next(row for row in result["training"] if row["image_size"] == profile["image_size"])
        ceiling = training["share_of_peak"] / counted if counted else float("nan")
        speedup = profile["speedup"]
        parts.append(
            f"At {profile['image_size']} px, channels_last makes the forward convolutions "
            f"{speedup['convolution, forward']:.2f}x, the backward ones {speedup['convolution, backward']:.2f}x, "
            f"batch norm {speedup['batch norm']:.2f}x and pooling {speedup['pooling']:.2f}x as fast as "
            f"torchvision's NCHW; the backward convolutions gain least and weigh most. "
            f"Convolutions take {convolution:.0%} of a training step (forward "
            f"{shares['convolution, forward']:.0%}, backward {shares['convolution, backward']:.0%}) and run at "
            f"{rates.get('convolution, forward', float('nan')):.0%} and "
            f"{rates.get('convolution, backward', float('nan')):.0%} of the peak. The other "
            f"{1 - counted:.0%} goes to work that does no counted FLOPs (batch norm {shares['batch norm']:.0%}, "
            f"ReLU {shares['ReLU']:.0%}, pooling {shares['pooling']:.0%}, gradient sums and the optimizer "
            f"{shares['gradient sums and optimizer']:.0%}, the rest {shares['other']:.0%}): even if it took no time, "
            f"the step would reach {ceiling:.0%} of the peak.")
    text["profile"] = " ".join(parts)
    if "compile" in result:
        sentences = []
        for mode in ("training", "inference"):
            row = result["compile"][mode]
            verdict = (f"pays for its {row['compile_seconds']:.0f} s of compiling after "
                       f"{row['break_even_images']:,.0f} images" if row["break_even_images"] else
                       f"is slower and never pays for its {row['compile_seconds']:.0f} s of compiling")
            sentences.append(f"for {mode} the compiled model runs at {row['ratio']:.2f}x the eager one and {verdict}")
        text["compile"] = (f"At {result['compile']['image_size']} px, " + "; ".join(sentences) + ". The book's "
                           "notebooks run eagerly; `TrainConfig(compile=True)` compiles the training step (with "
                           "`compile_mode=\"reduce-overhead\"`, as CUDA graphs) on machines where this benchmark "
                           "shows that it pays.")
    ensemble = result["ensemble"]
    faster = {"training": ensemble["train_stacked_vs_loop"], "inference": ensemble["inference_vmap_vs_loop"]}
    text["ensemble"] = " ".join(
        f"For {kind}, {ensemble['members']} members run together (`vmap`) at {ratio:.2f}x the speed of one by one"
        + (", so the book runs them one by one here." if ratio < 1 else ", so running them together pays here.")
        for kind, ratio in faster.items())
    rows = []
    for row in result["data"]:
        augmentation = "the book's flips" if not row["augmentation"]["crop"] else "Section 6's full augmentation"
        rates = row["images_per_second"]
        worker = rates["epoch, 1 worker"] / rates["epoch, no workers"]
        rows.append(f"With {augmentation}, augmentation runs at {row['augment_vs_train']:.1f}x the training step's "
                    f"rate and takes {row['loading_share']:.0%} of an epoch when loading and training take turns "
                    f"(a whole epoch: {rates['epoch, no workers']:,.0f} images/s). With one worker process loading "
                    f"beside the training, an epoch runs at {worker:.2f}x that rate"
                    + (": the worker takes cores from the training step, so the book loads in the training "
                       "process." if worker < 1 else ", so a worker keeps the model fed here."))
    rendered = result["data"][0]["images_per_second"]["render"]
    text["data"] = (f"The embedded data set renders {rendered:,.0f} images per second, once per data set. "
                    + " ".join(rows))
    return text


def tables(result: dict) -> dict[str, pd.DataFrame]:
    """The compile, ensemble and data measurements of ``result`` as tables formatted for the book (a result
    measured with ``--no-compile`` has no compile table)."""
    def rate(value: float | None) -> str:
        return "never" if value is None else f"{value:,.0f}"

    out = {"ensemble": pd.DataFrame([{"": name, "model-images per second": rate(value)}
                                     for name, value in result["ensemble"]["images_per_second"].items()]),
           "data": pd.DataFrame([{"augmentation": ", ".join(k for k, v in row["augmentation"].items() if v),
                                  **{f"{k} (img/s)": rate(v) for k, v in row["images_per_second"].items()},
                                  "loading share of an epoch": f"{row['loading_share']:.0%}"}
                                 for row in result["data"]])}
    if "compile" in result:
        out["compile"] = pd.DataFrame([{"mode": mode, "compile (s)": rate(row["compile_seconds"]),
                                        **{f"{k} (img/s)": rate(v) for k, v in row["images_per_second"].items()},
                                        "compiled / eager": f"{row['ratio']:.2f}x",
                                        "pays back after (images)": rate(row["break_even_images"])}
                                       for mode, row in result["compile"].items() if isinstance(row, dict)])
    return out
