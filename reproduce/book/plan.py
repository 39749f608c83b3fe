"""What a parameter set costs, before it runs: per notebook and stage, the images trained, validated and scored
(crops counted one by one), the multiply-adds, the peak memory, and the wall time.

``python -m reproduce book --params params/imagenet-gpu.yml --plan`` prints it; a real run prints it first and refuses
to start a plan whose memory does not fit the machine (:class:`InfeasiblePlanError`, naming the notebook and stage).

- **Work** is counted from each notebook's parameters (:data:`WORK`: what each training notebook trains, validates and
  scores) and the sizes of the data sets: the files on disk where they are, else the published sizes
  (:data:`PUBLISHED_SIZES`).
- **Multiply-adds** are counted from the model (``torch.utils.flop_counter`` on the meta device,
  :func:`reproduce.analysis.costs.profile`); a training image costs three forward passes (forward, and the backward
  pass's
  two products per layer).
- **Memory** is estimated from the model: the weights (with their gradients, momentum and Polyak average while
  training) and, per image of a batch, every layer's output (kept for the backward pass while training, and its
  gradient), in bf16 on CUDA and fp32 on the CPU; results kept on the host (the crop scores) are counted apart.
- **Time on this machine** comes from a probe: a few real training steps (:func:`reproduce.training.loop.train_step`)
  and inference passes of each stage's network on this machine's device, timed; data loading has its column (below).
- **Time on one H100**, for reference, comes from the FLOP/s that the same kind of probe measured on an H100
  (``benchmarks/results/h100.json``: the device, the date and how it was measured are in the file).
- **Polyak updates** are a stage of their own: one update of the averaged weights per training step, timed here by
  :func:`~reproduce.training.polyak.time_updates` and on the H100 by ``benchmarks/device_checks.py``
  (``benchmarks/results/device-checks.json``, for the paper's network; other networks scaled by their parameters).
- **Data loading** is the host's work beside each stage: the images its loaders decode and augment (or the files a
  data set's scan lists), at one core's rate measured by ``benchmarks/loading.py``
  (``benchmarks/results/loading.json``) times the config's ``num_workers``. A stage whose loading hours exceed its
  hours on the device is bound by its loaders: :func:`totals` counts each stage at the larger of the two ("fed").
- **The speed test** of the Evaluation chapter (every member trained and run at once, ``speed_test_batch`` images
  each) is a stage with its own memory, where it runs.
"""

from __future__ import annotations

import functools
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[2]
#: Throughputs measured on one H100 by ``benchmarks/plan_probe.py``.
H100_RESULTS = ROOT / "benchmarks" / "results" / "h100.json"
#: One core's rates of decoding, augmenting and scanning, by ``benchmarks/loading.py``.
LOADING_RESULTS = ROOT / "benchmarks" / "results" / "loading.json"
#: The H100's Polyak update of the paper's network, by ``benchmarks/device_checks.py``.
DEVICE_CHECKS = ROOT / "benchmarks" / "results" / "device-checks.json"
#: (train images, validation images, classes) of the data sets, as published: the embedded set's defaults,
#: CIFAR's, and ImageNet's (ILSVRC 2012) for an ImageFolder that is not on disk.
PUBLISHED_SIZES = {"shapes": (10_000, 2_000, 10), "cifar10": (50_000, 10_000, 10), "cifar100": (50_000, 10_000, 100),
                   "imagefolder": (1_281_167, 50_000, 1_000)}
#: Multiply-adds of one forward pass of the batch the probe times on the CPU (the stage's own batch where smaller).
PROBE_MACS = 2 * 10 ** 9
#: Forward passes per test image of the branch attribution: every branch of the nine inception modules removed in
#: turn (4 x 9), the intact network, and the pass that measures the branches' shares.
BRANCH_PASSES = 4 * 9 + 2


class InfeasiblePlanError(ValueError):
    """A stage of the plan needs more memory than the machine has."""


@dataclass(frozen=True)
class Network:
    """The network a stage runs: reproduce's GoogLeNet with these options, or torchvision's (``torchvision``)."""

    image_size: int
    num_classes: int
    width: float = 1.0
    stem: str = "imagenet"
    batch_norm: bool = False
    torchvision: bool = False

    def build(self) -> torch.nn.Module:
        from ..models import googlenet, googlenet_torchvision

        if self.torchvision:
            return googlenet_torchvision(self.num_classes, aux_heads=False, transform_input=True)
        return googlenet(self.num_classes, width=self.width, stem=self.stem, batch_norm=self.batch_norm)


@dataclass(frozen=True)
class Stage:
    notebook: str
    stage: str  # "train", "validate", "test", "crops", "branches", "Polyak updates", "scan", "speed test"
    network: Network
    images: int  # images through the network (for crops: every crop of every image through every member)
    batch: int  # images per step or forward pass (for Polyak updates: 1, an update per step)
    training: bool = False
    host_bytes: int = 0  # results kept on the host
    loaded: int = 0  # images the stage's loaders decode (for scans: files listed)
    source: str = ""  # what they load: "jpeg" (an ImageFolder), "array" (CIFAR); "" (generated, or nothing)
    workers: int = 0  # the loaders' processes (num_workers)
    kind: str = "network"  # "network" (images through it), "polyak" (one update per image), "scan"
    models: int = 1  # networks held at once (the speed test's members)


def split_sizes(dataset: str, root: Optional[str]) -> tuple[int, int, int]:
    """(train images, validation images, classes) of a data set: counted on disk for an ImageFolder that is there,
    else :data:`PUBLISHED_SIZES`."""
    if dataset == "imagefolder" and root and (Path(root).expanduser() / "train").is_dir():
        folder = Path(root).expanduser()
        classes = [d for d in (folder / "train").iterdir() if d.is_dir()]

        def count(split: str) -> int:
            return sum(1 for d in (folder / split).iterdir() if d.is_dir() for _ in os.scandir(d))

        return count("train"), count("val") if (folder / "val").is_dir() else 0, len(classes)
    return PUBLISHED_SIZES[dataset]


def _capped(n: int, cap: Optional[int]) -> int:
    return n if cap is None else min(n, cap)


def _network(c, classes: int) -> Network:
    """The network a TrainConfig ``c`` trains, for ``classes`` classes."""
    return Network(c.image_size, classes, c.width, c.stem, c.batch_norm)


def _training_stages(name: str, p: dict[str, Any], c, runs: list, trained: dict[str, set[str]],
                     validations: int) -> list[Stage]:
    """The train and validate stages of ``runs`` (TrainConfigs; ``c``: the notebook's base); a run that another
    notebook trains into the same ``runs_dir`` (the same :func:`~reproduce.training.store.run_key`) is counted once,
    by the first notebook."""
    from ..training.store import run_key

    train_n, val_n, classes = split_sizes(c.dataset, c.data_root)
    shared = trained.setdefault(str(p.get("runs_dir")), set()) if p.get("runs_dir") else set()
    new = []
    for run in runs:
        key = run_key(run)
        if key not in shared:
            new.append(run)
            if p.get("runs_dir"):
                shared.add(key)
    epochs = sum(run.epochs for run in new)
    reused = len(runs) - len(new)
    label = f"train ({len(new)} runs" + (f"; {reused} reused" if reused else "") + ")"
    net = _network(c, classes)
    trained_images = epochs * _capped(train_n, c.train_images)
    validated = epochs * validations * _capped(val_n, c.eval_images)
    loading = _loading(c)
    stages = [Stage(name, label, net, trained_images, c.batch_size, training=True, loaded=trained_images, **loading),
              Stage(name, "validate", net, validated, max(c.batch_size, 64),
                    loaded=epochs * _capped(val_n, c.eval_images), **loading)]
    if c.polyak == "ema" and new:
        stages.append(Stage(name, "Polyak updates", net, -(-trained_images // c.batch_size), 1, kind="polyak"))
    scanned = trained.setdefault(SCANNED, set())
    if c.dataset == "imagefolder" and new and str(c.data_root) not in scanned:  # once (reproduce.data.scans)
        scanned.add(str(c.data_root))
        stages.append(Stage(name, "scan", net, 0, 1, kind="scan", loaded=train_n + val_n, source="scan", workers=1))
    return stages


#: The key of ``trained`` (see :data:`WORK`) under which the data roots already scanned are kept: an ImageFolder's
#: files are listed by its first run and read back by the others (:mod:`reproduce.data.scans`).
SCANNED = "scanned data roots"


def _loading(c) -> dict[str, Any]:
    """What a TrainConfig's loaders read (see :class:`Stage`) and with how many workers."""
    source = {"imagefolder": "jpeg", "cifar10": "array", "cifar100": "array"}.get(c.dataset, "")
    return {"source": source, "workers": c.num_workers}


def _training_work(p: dict[str, Any], c, trained: dict[str, set[str]]) -> list[Stage]:
    """The Training chapter: the runs of :func:`~reproduce.training.ablation.training_chapter_runs` and the other
    seeds of the best SGD rate (counted at the first rate: the rates cost the same), the raw and Polyak weights
    validated after every epoch, and both weights of every run scored on the test split."""
    from ..training.ablation import sgd_runs, training_chapter_runs

    lrs = p["sgd_lrs"] if c.optimizer != "sgd" else []
    runs = list(training_chapter_runs(c, seeds=p["seeds"], sgd_lrs=lrs, augmentation=p["augmentation_run"]).values())
    if lrs:
        runs += list(sgd_runs(c, lrs[:1], seeds=p["seeds"], first_seed=1).values())
    _, val_n, classes = split_sizes(c.dataset, c.data_root)
    return (_training_stages("training.ipynb", p, c, runs, trained, 2) +
            [Stage("training.ipynb", "test", _network(c, classes), 2 * len(runs) * val_n, 256,
                   loaded=2 * len(runs) * val_n, **_loading(c))])


def _evaluation_work(p: dict[str, Any], c, trained: dict[str, set[str]]) -> list[Stage]:
    """The Evaluation chapter: the members (after a shared start, where there is one), validated after every epoch;
    then every member on every crop of the test images (their mean and max over crops kept on the host per crop
    setting). Members trained from the initialization are runs another notebook may share."""
    from ..training.ensemble import member_configs

    _, val_n, classes = split_sizes(c.dataset, c.data_root)
    runs = member_configs(c, p["members"], shared_init=p.get("shared_init", True))
    if p["shared_epochs"]:  # started from a shared run: not the runs of any other notebook
        runs = [c.replace(epochs=p["shared_epochs"])] + runs
        trained = {}
    test_n = _capped(val_n, p.get("test_images"))
    many_n = _capped(test_n, p.get("many_crop_images"))  # the images also scored with more than 10 crops
    scored = [(k, test_n if k <= 10 else many_n) for k in p["crop_counts"]]
    kept = p["members"] * classes * 4 * 2 * sum(n for _, n in scored)  # mean and max, float32
    net = _network(c, classes)
    stages = (_training_stages("evaluation.ipynb", p, c, runs, trained, 2) +
              [Stage("evaluation.ipynb", "crops", net, p["members"] * sum(k * n for k, n in scored),
                     512 if max(p["crop_counts"]) > 1 else 256, host_bytes=kept,
                     loaded=sum(n for _, n in scored), **_loading(c))])
    if "speed_test_batch" in p:  # SPEED_TEST_CALLS timed and untimed calls, each members x batch images
        from ..perf.comparisons import SPEED_TEST_CALLS

        batch = p["members"] * (p["speed_test_batch"] or c.batch_size)
        stages.append(Stage("evaluation.ipynb", "speed test", net, SPEED_TEST_CALLS * batch, batch, training=True,
                            models=p["members"]))
    return stages


def _beyond_work(p: dict[str, Any], c, trained: dict[str, set[str]]) -> list[Stage]:
    """Beyond v1: the runs of :func:`~reproduce.training.ablation.ablation_runs` (its ``rows`` and ``seeds``; the
    first row's network stands for all in multiply-adds and memory) and the first row at the other ``paper_lrs``,
    validated after every epoch (raw and Polyak weights) and scored on the test split."""
    from ..training.ablation import STEPS, ablation_runs, inception_v3_ablation

    _, val_n, classes = split_sizes(c.dataset, c.data_root)
    runs = list(ablation_runs(c, p.get("rows"), seeds=p["seeds"]).values())
    paper_row = inception_v3_ablation(c)[STEPS[0].name]
    runs += [paper_row.replace(lr=lr) for lr in p.get("paper_lrs") or []]
    return (_training_stages("beyond.ipynb", p, c, runs, trained, 2) +
            [Stage("beyond.ipynb", "test", _network(c, classes), len(runs) * val_n, 256, loaded=len(runs) * val_n,
                   **_loading(c))])


def _branches_work(p: dict[str, Any], c, trained: dict[str, set[str]]) -> list[Stage]:
    """The branch attribution: torchvision's weights, or the Evaluation chapter's members, or networks trained here;
    every branch removed in turn on the test images."""
    train_n, val_n, classes = split_sizes(c.dataset, c.data_root)
    name, test_n = "branches.ipynb", _capped(val_n, p.get("test_images"))
    if p.get("torchvision_weights"):
        return [Stage(name, "branches", Network(224, 1000, torchvision=True), BRANCH_PASSES * test_n, 256,
                      loaded=BRANCH_PASSES * test_n, **_loading(c))]
    net = _network(c, classes)
    stages = []
    if not p.get("ensemble_dir"):
        epochs = p["shared_epochs"] + p["members"] * c.epochs
        stages.append(Stage(name, "train", net, epochs * _capped(train_n, c.train_images), c.batch_size,
                            training=True))
    return stages + [Stage(name, "branches", net, p["members"] * BRANCH_PASSES * test_n, 256,
                           loaded=p["members"] * BRANCH_PASSES * test_n, **_loading(c))]


def _reloaded_members(branches: dict[str, Any], evaluation: dict[str, Any]) -> dict[str, Any]:
    """The branch attribution's parameters with the members and configuration of the Evaluation chapter's ensemble,
    which it reloads when ``ensemble_dir`` is set (and no torchvision weights are given)."""
    if not branches.get("ensemble_dir") or branches.get("torchvision_weights"):
        return branches
    return {**branches, "members": evaluation["members"], "config": evaluation["config"]}


#: What each notebook that trains or scores networks does, from its parameters, its TrainConfig (the book's with its
#: ``config``) and the runs that notebooks before it train into the same ``runs_dir``, by key, in the order the runner
#: starts them.
WORK: dict[str, Callable[[dict[str, Any], Any, dict[str, set[str]]], list[Stage]]] = {
    "training.ipynb": _training_work, "evaluation.ipynb": _evaluation_work, "beyond.ipynb": _beyond_work,
    "branches.ipynb": _branches_work}


def stages(parameters: dict[str, dict[str, Any]]) -> list[Stage]:
    """The stages of every notebook of a parameter set, each notebook with its defaults where the set is silent."""
    from .runner import notebook_defaults
    from ..training.config import book_config

    values = {name: {**notebook_defaults(name), **parameters.get(name, {})} for name in WORK}
    values["branches.ipynb"] = _reloaded_members(values["branches.ipynb"], values["evaluation.ipynb"])
    trained: dict[str, set[str]] = {}
    return [stage for name, work in WORK.items()
            for stage in work(values[name], book_config(values[name]["config"]), trained)]


def forward_macs(network: Network) -> int:
    """Multiply-adds of one forward pass of one image."""
    from ..analysis.costs import profile

    return profile(network.build(), (1, 3, network.image_size, network.image_size)).macs[""]


@functools.lru_cache(maxsize=None)
def memory_per_image(network: Network, *, bytes_per_value: int) -> int:
    """Bytes of every layer's output for one image (what a forward pass holds for the backward pass)."""
    from ..analysis.costs import profile

    shapes = profile(network.build(), (1, 3, network.image_size, network.image_size)).outputs
    leaves = [name for name in shapes if name and not any(o.startswith(name + ".") for o in shapes)]
    return sum(torch.Size(shapes[name]).numel() for name in leaves) * bytes_per_value


def estimated_memory(stage: Stage, device: torch.device) -> int:
    """Peak device bytes of a stage as counted from the model: the weights (x4 while training: gradients, momentum,
    Polyak average) and the activations of one batch (x2 while training: their gradients)."""
    weights = parameters_of(stage.network) * 4 * stage.models
    if stage.kind == "polyak":  # the model and its average
        return 2 * weights
    if stage.kind == "scan":
        return 0
    per_image = memory_per_image(stage.network, bytes_per_value=2 if device.type == "cuda" else 4)
    return weights * (4 if stage.training else 1) + stage.batch * per_image * (2 if stage.training else 1)


@functools.lru_cache(maxsize=None)
def parameters_of(network: Network) -> int:
    return sum(p.numel() for p in network.build().parameters())


def stage_memory(stage: Stage, device: torch.device) -> int:
    """Peak device bytes of a stage: :func:`estimated_memory`, on CUDA scaled by what the H100 reference measured for
    the same network against that estimate (:func:`calibration`)."""
    return round(estimated_memory(stage, device) * calibration(stage, device))


def calibration(stage: Stage, device: torch.device) -> float:
    """Measured over estimated peak memory of the H100 reference (``benchmarks/results/h100.json``) for the same
    network (input side, classes, stem, batch norm) in the same mode, on CUDA, never below 1: the estimate counts
    weights and layer outputs, and a real step also keeps cuDNN's workspaces, autocast's bf16 copies of the weights,
    dropout masks and the local response normalization's intermediates. 1 where nothing comparable was measured."""
    reference = h100_reference()
    if device.type != "cuda" or reference is None:
        return 1.0
    for row in reference["rates"]:
        network = row.get("network_options")
        if (row["training"] == stage.training and network is not None and row.get("peak_memory_bytes")
                and Network(**network) == stage.network):
            return max(1.0, row["peak_memory_bytes"] / row["planned_memory_bytes"])
    return 1.0


def probe(network: Network, device: torch.device, *, training: bool, batch: int, steps: int = 2) -> float:
    """Images per second of ``network`` on ``device``: ``steps`` timed training steps (or inference passes) of
    ``batch`` random images after one untimed one, as the training loop and the crop scorer run them."""
    from ..training.config import TrainConfig
    from ..training.loop import make_optimizer, train_step

    amp = device.type == "cuda"
    if amp:
        torch.backends.cudnn.benchmark = True
    model = network.build().to(device).to(memory_format=torch.channels_last)
    images = torch.randn(batch, 3, network.image_size, network.image_size, device=device).contiguous(
        memory_format=torch.channels_last)
    targets = torch.randint(0, network.num_classes, (batch,), device=device)
    config = TrainConfig(optimizer="sgd", lr=0.01)
    optimizer = make_optimizer(config, model.parameters())

    def once():
        if training:
            model.train()
            train_step(model, optimizer, images, targets, config, amp=amp)
        else:
            model.eval()
            with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                model(images)

    once()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    for _ in range(steps):
        once()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return steps * batch / (time.perf_counter() - started)


def h100_reference() -> Optional[dict[str, Any]]:
    """The H100 measurement the plan's reference times come from (None where none is committed)."""
    return json.loads(H100_RESULTS.read_text()) if H100_RESULTS.is_file() else None


def reference_rate(reference: dict[str, Any], stage: Stage) -> float:
    """The FLOP/s the reference measured for a stage like ``stage``: training or inference, at the measured input
    side nearest to the stage's."""
    rows = [row for row in reference["rates"] if row["training"] == stage.training]
    nearest = min(rows, key=lambda row: abs(row["image_size"] - stage.network.image_size))
    return nearest["flops_per_second"]


def device_memory(device: torch.device) -> int:
    """Bytes of memory on ``device``: the GPU's, or the host's for the CPU."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    return host_memory()


def host_memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def loading_reference() -> Optional[dict[str, Any]]:
    """One core's loading rates (``benchmarks/results/loading.json``; None where none is committed)."""
    return json.loads(LOADING_RESULTS.read_text()) if LOADING_RESULTS.is_file() else None


def loading_hours(stage: Stage, reference: Optional[dict[str, Any]]) -> Optional[float]:
    """Hours the stage's loaders take for what they load: one core's rate for its kind of data (decoding and the
    training augmentation for a training stage, decoding alone otherwise; listing files for a scan) times its
    workers (one core when it has none: the loading is the main process's). None where the data is generated or no
    rate is committed."""
    if reference is None or not stage.source or not stage.loaded:
        return None
    rates = reference["images_per_second_per_core"]
    key = "scan" if stage.source == "scan" else ("train_" if stage.training else "eval_") + stage.source
    return stage.loaded / (rates[key] * max(1, stage.workers)) / 3600


def h100_polyak_seconds(network: Network) -> Optional[float]:
    """Seconds of one Polyak update of ``network`` on the H100: what ``benchmarks/device_checks.py`` measured for the
    paper's network (1,000 classes), scaled by the parameters (an update reads and writes each once)."""
    if not DEVICE_CHECKS.is_file():
        return None
    measured = json.loads(DEVICE_CHECKS.read_text())["polyak_seconds_per_update"]["polyak"]
    return measured * parameters_of(network) / parameters_of(Network(224, 1000))


def polyak_rate(network: Network, device: torch.device) -> float:
    """Polyak updates per second of ``network`` on ``device`` (:func:`~reproduce.training.polyak.time_updates`)."""
    from ..training.polyak import time_updates

    return 1 / time_updates(network.build(), device, updates=5, warmup=1).polyak


def plan(parameters: dict[str, dict[str, Any]], device: str = "auto", *, probe_batch: Optional[int] = None,
         timed: bool = True) -> pd.DataFrame:
    """The plan of a parameter set on ``device`` ("auto": CUDA when present): one row per notebook and stage.

    Columns: notebook, stage, network (input side, width, classes), images, batch, multiply-adds, peak device GiB,
    host GiB (results kept), hours here, hours on one H100, loading hours (the host's, see :func:`loading_hours`),
    and hours on one H100 fed (the larger of the last two: loading overlaps the device's work). ``probe_batch`` caps
    the batch the probe times (default: on the CPU as many images as :data:`PROBE_MACS` allows, on a GPU the stage's
    own batch); ``timed=False`` skips the probe (no hours here), which is how a run checks that its plan fits before
    it spends any time."""
    from ..device import resolve_device

    target = resolve_device(device)
    reference, loading = h100_reference(), loading_reference()
    rates: dict[tuple[Network, bool, str], float] = {}
    rows = []
    for stage in stages(parameters):
        network_work = stage.kind in ("network", "polyak")
        macs = forward_macs(stage.network) * (3 if stage.training else 1) * stage.images if stage.kind == "network" \
            else 0
        key = (stage.network, stage.training, stage.kind)
        if timed and network_work and key not in rates:
            if stage.kind == "polyak":
                rates[key] = polyak_rate(stage.network, target)
            else:  # on the CPU a batch of at most PROBE_MACS multiply-adds, so that probing stays short
                cpu_batch = max(1, min(stage.batch, PROBE_MACS // forward_macs(stage.network)))
                batch = min(stage.batch, probe_batch or (cpu_batch if target.type == "cpu" else stage.batch))
                rates[key] = probe(stage.network, target, training=stage.training, batch=batch) / stage.models
        if stage.kind == "polyak":
            seconds = h100_polyak_seconds(stage.network)
            h100 = None if seconds is None else stage.images * seconds / 3600
        elif stage.kind == "scan":
            h100 = 0.0
        else:
            h100 = None if reference is None else 2 * macs / reference_rate(reference, stage) / 3600
        here = (stage.images / rates[key] / 3600 if network_work else 0.0) if timed else None
        load = loading_hours(stage, loading)
        net = stage.network
        rows.append({"notebook": stage.notebook, "stage": stage.stage,
                     "network": f"{net.image_size} px, " + ("torchvision" if net.torchvision else f"width {net.width}")
                                + f", {net.num_classes} classes" + (f", {stage.models} at once" if stage.models > 1
                                                                    else ""),
                     "images": stage.images, "batch": stage.batch, "multiply-adds": macs,
                     "device GiB": stage_memory(stage, target) / 2 ** 30, "host GiB": stage.host_bytes / 2 ** 30,
                     "hours here": here, "hours on one H100": h100, "loading hours": load,
                     "hours on one H100, fed": None if h100 is None else max(h100, load or 0.0)})
    return pd.DataFrame(rows)


def check_feasible(table: pd.DataFrame, device: str = "auto") -> None:
    """Raise :class:`InfeasiblePlanError`, naming the notebook and stage, where a stage's memory exceeds the device's
    or its kept results the host's."""
    from ..device import resolve_device

    target = resolve_device(device)
    on_device, on_host = device_memory(target) / 2 ** 30, host_memory() / 2 ** 30
    for _, row in table.iterrows():
        needed, kept = row["device GiB"], row["host GiB"]
        if needed > on_device:
            raise InfeasiblePlanError(f"{row.notebook}, stage {row.stage!r}: needs about {needed:.1f} GiB on "
                                      f"{target} ({row.network}, batch {row.batch}), which has {on_device:.1f} GiB; "
                                      f"lower its config's batch_size or run it on a larger device")
        if kept > on_host:
            raise InfeasiblePlanError(f"{row.notebook}, stage {row.stage!r}: keeps about {kept:.1f} GiB of results "
                                      f"on the host, which has {on_host:.1f} GiB; score fewer test_images or members")


def totals(table: pd.DataFrame) -> pd.DataFrame:
    """The plan summed per notebook, and over all of them (memory: the largest stage)."""
    summed = {"images": "sum", "multiply-adds": "sum", "device GiB": "max", "host GiB": "max", "hours here": "sum",
              **{column: (lambda s: s.sum(min_count=1))
                 for column in ("hours on one H100", "loading hours", "hours on one H100, fed")}}
    per_notebook = table.groupby("notebook", sort=False).agg(summed)
    per_notebook.loc["all"] = table.agg(summed)
    return per_notebook


def formatted(table: pd.DataFrame) -> str:
    """The plan as text: the stages, then the totals."""
    def fmt(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        for column in ("images", "multiply-adds"):
            frame[column] = frame[column].map(_human)
        for column in ("device GiB", "host GiB"):
            frame[column] = frame[column].map("{:.2f}".format)
        for column in ("hours here", "hours on one H100", "loading hours", "hours on one H100, fed"):
            frame[column] = frame[column].map(lambda h: "-" if pd.isna(h) else f"{h:,.2f}")
        return frame

    reference = h100_reference()
    source = (f"H100 hours from {reference['device']} measured {reference['date']} ({reference['how']})"
              if reference else "no H100 measurement is committed (benchmarks/results/h100.json)")
    loading = loading_reference()
    loaders = (f"loading hours at one core per worker as measured on {loading['machine']['processor']} "
               f"({loading['how']})" if loading else "no loading rates are committed (benchmarks/results/loading.json)")
    return (fmt(table).to_string(index=False) + "\n\n" + fmt(totals(table)).to_string() + "\n\n" + source +
            "; hours here from a probe of this machine's device; " + loaders + "; fed: the larger of the device's "
            "hours and the loaders' (they overlap).")


def _human(n: float) -> str:
    for unit, size in (("E", 1e18), ("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n:.0f}"
