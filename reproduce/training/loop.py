"""Training as Section 6 of the paper describes it, resumable and distributed.

One function, :func:`train`, runs a :class:`~reproduce.training.config.TrainConfig`:

- the loss is the main classifier's cross-entropy plus 0.3 times each auxiliary classifier's (Section 5);
- SGD with momentum 0.9 (or AdamW, ``optimizer="adamw"``, which the book's CPU-sized runs use), the learning rate
  decreased by 4% every 8 epochs, or Caffe's "poly" schedule (:mod:`.schedule`);
- Polyak averaging of the weights (an exponential moving average, :class:`.polyak.PolyakAverage`) gives the model
  used at inference; both it and the raw weights are evaluated after every epoch;
- a checkpoint is written atomically after every epoch; ``resume=True`` continues from it, and because every random
  draw of an epoch is seeded (the sample order from ``(seed, epoch)``, each sample's augmentation from
  ``(seed, epoch, sample index)`` whichever process loads it, dropout from ``(seed, epoch, rank)``), a resumed run
  ends with exactly the weights of an uninterrupted one on the CPU, with or without DataLoader workers, which
  therefore persist from one epoch to the next;
- SIGTERM (a preemption) or SIGINT (Ctrl-C) during a one-process run that keeps a checkpoint saves it at the step
  reached, with its random state and running sums, and stops with :class:`TrainingStopped`; resuming continues that
  epoch from the next step (the sampler skips what was trained on) and ends with the weights of an uninterrupted run;
- a non-finite loss stops the run with :class:`NonFiniteLossError` and leaves the last good checkpoint in place;
- under ``torchrun`` it runs DistributedDataParallel over the processes (:mod:`.distributed`); the first process
  builds (and downloads) the data sets before the others; a process that dies is restarted by
  ``torchrun --max-restarts``, and the command line continues from the last epoch's checkpoint;
- on CUDA it uses bf16 autocast, channels_last and cuDNN autotuning, and optionally ``torch.compile`` (with
  ``compile_mode="reduce-overhead"``, CUDA graphs); on the CPU it stays fp32.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler, Subset, default_collate
from tqdm import tqdm

from ..device import resolve_device, uses_amp, uses_channels_last
from ..data import real
from ..metrics import topk_correct
from ..models import GoogLeNet, GoogLeNetOutputs, googlenet
from .. import checkpoints
from . import distributed
from .config import TrainConfig
from .polyak import PolyakAverage
from .schedule import build_scheduler

LOG_EVERY = 10  # steps between loss records (and non-finite checks)
#: Options that may change when a run is resumed; any other difference is refused.
RESUMABLE_CHANGES = {"epochs", "device", "num_workers", "progress", "compile", "compile_mode", "extra"}


class RunMismatchError(ValueError):
    """A run was to be resumed with options it was not trained with."""


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; the run stopped and the last checkpoint is the last good one."""


class TrainingStopped(RuntimeError):
    """SIGTERM or SIGINT (Ctrl-C) stopped the run; it was saved at the step it had reached (the message says where
    and how to resume). ``signal`` is the signal's number."""

    def __init__(self, message: str, signal: int):
        super().__init__(message)
        self.signal = signal


class _StopRequest:
    """Catches SIGTERM (a preemption, a scheduler's kill) and SIGINT (Ctrl-C) while a run that keeps a checkpoint
    trains: the first one asks the loop to save at the end of the current step and stop; a second one, while it
    saves, changes nothing (the checkpoint is written atomically, so the last good one survives in any case). Only
    in the main thread, where Python delivers signals; elsewhere nothing is caught."""

    SIGNALS = ("SIGTERM", "SIGINT")

    def __init__(self, active: bool):
        import signal
        import threading

        self.signal: Optional[int] = None
        self._previous = {}
        if active and threading.current_thread() is threading.main_thread():
            for name in self.SIGNALS:
                number = getattr(signal, name)
                self._previous[number] = signal.signal(number, self._catch)

    def _catch(self, number, frame) -> None:
        self.signal = self.signal or number

    def restore(self) -> None:
        import signal

        for number, handler in self._previous.items():
            signal.signal(number, handler)


@dataclass
class TrainResult:
    config: TrainConfig
    model: GoogLeNet  # the raw weights after the last step
    averaged: Optional[GoogLeNet]  # the Polyak-averaged weights (None when polyak="none")
    history: list[dict[str, Any]] = field(default_factory=list)  # one row per epoch
    steps: list[dict[str, Any]] = field(default_factory=list)  # losses every LOG_EVERY steps
    out_dir: Optional[Path] = None

    def best_model(self) -> GoogLeNet:
        """The model used at inference: the Polyak average when there is one."""
        return self.averaged if self.averaged is not None else self.model


def googlenet_loss(outputs: torch.Tensor | GoogLeNetOutputs, targets: torch.Tensor, *, aux_weight: float,
                   label_smoothing: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The total loss of Section 5 (main + ``aux_weight`` x each auxiliary loss) and its parts. Both weights have no
    default here: a run's come from its :class:`~reproduce.training.config.TrainConfig` (0.3 and no smoothing, the
    paper's), which is the one place that holds them."""
    def ce(logits):
        return F.cross_entropy(logits.float(), targets, label_smoothing=label_smoothing)

    if isinstance(outputs, GoogLeNetOutputs):
        parts = {"main": ce(outputs.logits), "aux1": ce(outputs.aux1), "aux2": ce(outputs.aux2)}
        return parts["main"] + aux_weight * (parts["aux1"] + parts["aux2"]), parts
    parts = {"main": ce(outputs)}
    return parts["main"], parts


def epoch_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """The seed of what is random in one epoch of one process (dropout); with ``rank=0``, of the epoch's
    augmentation (:func:`sample_seed`)."""
    return (seed * 1_000_003 + epoch * 7_919 + rank * 104_729) % (2 ** 63)


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """The seed of the augmentation of sample ``index`` of the train split in ``epoch``: the same in whichever
    process (main, DataLoader worker, or rank of a distributed run) loads it. NumPy's ``SeedSequence`` mixes the
    epoch's seed and the index, so that neighbouring samples get unrelated seeds."""
    state = np.random.SeedSequence([epoch_seed(seed, epoch), index]).generate_state(1, dtype=np.uint64)
    return int(state[0]) >> 1


class SeededSampler(Sampler):
    """``sampler``'s indices, each with the seed of its augmentation this epoch: yields
    ``(index, sample_seed(seed, epoch, index))`` for :class:`SeededSamples`. ``set_epoch`` sets the epoch of both
    (the sampler runs in the main process, so persistent DataLoader workers see every epoch's seeds)."""

    def __init__(self, sampler: DistributedSampler, seed: int):
        self.sampler, self.seed, self.epoch, self.skip = sampler, seed, 0, 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        """This epoch's order; ``skip``: the number of its first indices to leave out (a run resumed mid-epoch
        continues where it stopped without loading what it already trained on)."""
        self.epoch, self.skip = epoch, skip
        self.sampler.set_epoch(epoch)

    def __iter__(self):
        indices = itertools.islice(iter(self.sampler), self.skip, None)
        return ((index, sample_seed(self.seed, self.epoch, index)) for index in indices)

    def __len__(self) -> int:
        return len(self.sampler)


class SeededSamples(Dataset):
    """``dataset`` indexed by ``(index, seed)``: item ``index`` loaded and transformed with torch's CPU generator
    seeded by ``seed``, which is then put back as it was, so a sample's augmentation depends on its seed only (not on
    the process that loads it or on what it loaded before), and the caller's random state (dropout's, when
    ``num_workers=0``) is left untouched."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]):
        index, seed = key
        with torch.random.fork_rng(devices=[]):  # the CPU generator only; CUDA's (dropout on a GPU) is not touched
            torch.default_generator.manual_seed(seed)
            return real.sample_or_unreadable(self.dataset, index)


class _Marked(Dataset):
    """``dataset`` whose unreadable images come as :class:`~reproduce.data.real.UnreadableSample` (the validation
    split's loader, as :class:`SeededSamples` does for the train split)."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        return real.sample_or_unreadable(self.dataset, index)


def collate_readable(batch: list) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """A batch of the readable samples (images, targets) and the list of those that could not be read (``"PATH:
    cause"``), which the training loop skips, names and counts. A batch with no readable image stops the run."""
    skipped = [f"{item.path}: {item.cause}" for item in batch if isinstance(item, real.UnreadableSample)]
    readable = [item for item in batch if not isinstance(item, real.UnreadableSample)]
    if not readable:
        raise real.TooManyUnreadableImagesError(f"none of the {len(batch)} images of a batch can be read ("
                                                f"{skipped[0]}); check the data set's folder")
    images, targets = default_collate(readable)
    return images, targets, skipped


@torch.no_grad()
def split_metrics(model: nn.Module, loader: DataLoader, device: torch.device, *, amp: bool = False,
             channels_last: bool = False, processes: distributed.Processes = distributed.Processes()) -> dict:
    """Loss, top-1 and top-5 accuracy of ``model`` (eval mode) over ``loader``, summed over all processes."""
    model.eval()
    totals = torch.zeros(4, dtype=torch.float64, device=device)  # loss sum, top-1 hits, top-5 hits, count
    for images, targets, *_ in loader:  # (and the unreadable images a training run's loader skips)
        images, targets = _to_device(images, targets, device, channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            logits = model(images)
        hits = topk_correct(logits.float(), targets)
        totals += torch.stack([F.cross_entropy(logits.float(), targets, reduction="sum").double(),
                               hits[1].sum().double(), hits[5].sum().double(),
                               torch.tensor(len(targets), dtype=torch.float64, device=device)])
    loss, top1, top5, count = distributed.sum_over_processes(totals, processes).tolist()
    count = max(count, 1)
    return {"loss": loss / count, "top1": top1 / count, "top5": top5 / count}


def _to_device(images, targets, device, channels_last):
    images = images.to(device, non_blocking=True)
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    return images, targets.to(device, non_blocking=True)


def _loaders(config: TrainConfig, processes: distributed.Processes, device: torch.device,
             train_set: Dataset, eval_set: Dataset):
    local_batch = config.batch_size // processes.world_size
    if local_batch * processes.world_size != config.batch_size:
        raise ValueError(f"batch_size={config.batch_size} does not split evenly over {processes.world_size} "
                         f"processes")
    if len(train_set) < config.batch_size:
        raise ValueError(f"the train split has {len(train_set)} images, fewer than one batch of {config.batch_size}")
    # One sampler for one process too, so that a run's sample order does not depend on how many processes run it.
    sampler = DistributedSampler(train_set, num_replicas=processes.world_size, rank=processes.rank, shuffle=True,
                                 seed=config.seed, drop_last=True)
    # Workers persist: a sample's augmentation is seeded by the sampler (SeededSampler), not by the worker's state.
    # Each loader has its own generator for the workers' base seeds, so that creating an iterator leaves the main
    # process's random state alone.
    common = dict(num_workers=config.num_workers, pin_memory=device.type == "cuda",
                  persistent_workers=config.num_workers > 0)
    train_loader = DataLoader(SeededSamples(train_set), batch_size=local_batch,
                              sampler=SeededSampler(sampler, config.seed), drop_last=True,
                              generator=torch.Generator(), collate_fn=collate_readable, **common)
    shard = _Marked(Subset(eval_set, range(processes.rank, len(eval_set), processes.world_size)))
    eval_loader = DataLoader(shard, batch_size=max(local_batch, 64), shuffle=False, generator=torch.Generator(),
                             collate_fn=collate_readable, **common)
    return train_loader, eval_loader


def _mean_over_processes(sums: dict[str, torch.Tensor], count: int,
                         processes: distributed.Processes) -> dict[str, float]:
    """Per-process sums of ``count`` losses -> the mean over those steps and over all processes."""
    total = distributed.sum_over_processes(torch.stack(list(sums.values())).float(), processes)
    return {k: v / (count * processes.world_size) for k, v in zip(sums, total.tolist())}


def effective_init_seed(values: dict[str, Any]) -> int:
    """The seed the initialization of a run (a TrainConfig's values) is drawn with: ``init_seed``, or ``seed`` where
    that is None (as :func:`build_model` does)."""
    return values["seed"] if values.get("init_seed") is None else values["init_seed"]


def _check_resumable(saved: dict[str, Any], config: TrainConfig) -> None:
    """Refuse to resume with other options. An option the checkpoint does not record (one added to TrainConfig since
    it was written) had its default value then."""
    saved = {**{f.name: f.default for f in dataclasses.fields(TrainConfig)
                if f.default is not dataclasses.MISSING}, **saved}
    changed = {k for k, v in config.to_dict().items() if saved.get(k) != v} - RESUMABLE_CHANGES
    if effective_init_seed(saved) == effective_init_seed(config.to_dict()):  # init_seed None means seed's
        changed.discard("init_seed")
    if changed:
        details = ", ".join(f"{k}: {saved.get(k)!r} -> {getattr(config, k)!r}" for k in sorted(changed))
        raise RunMismatchError(f"cannot resume: the checkpoint was trained with other options ({details}); "
                               f"only {sorted(RESUMABLE_CHANGES)} may change")
    if config.lr_schedule == "poly" and saved["epochs"] != config.epochs:
        raise RunMismatchError(f"cannot resume with epochs {saved['epochs']!r} -> {config.epochs!r}: "
                               f"lr_schedule='poly' anneals over the run's epochs, so the steps already taken "
                               f"followed another schedule; start a new run")


def polyak_decay(polyak_epochs: float, steps_per_epoch: int) -> float:
    """The decay of the Polyak average per step for a time constant of ``polyak_epochs`` epochs: ``1 - 1 / T`` with
    ``T`` that time constant in steps, at least one step (a shorter one would be a negative decay; one step is an
    average that follows the weights)."""
    return 1 - 1 / max(1.0, polyak_epochs * steps_per_epoch)


def train_step(net: nn.Module, optimizer: torch.optim.Optimizer, images: torch.Tensor, targets: torch.Tensor,
               config: TrainConfig, *, amp: bool = False):
    """One optimizer step on one batch (already on the device, in the model's memory format): the forward pass
    (under bf16 autocast when ``amp``), the loss of Section 5, the backward pass, gradient clipping if ``config``
    asks for it, and the update. Returns the outputs, the loss and its parts. The training loop and the throughput
    benchmark (``reproduce.perf``) both run this."""
    with torch.autocast(images.device.type, dtype=torch.bfloat16, enabled=amp):
        outputs = net(images)
    loss, parts = googlenet_loss(outputs, targets, aux_weight=config.aux_weight,
                                 label_smoothing=config.label_smoothing)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if config.grad_clip is not None:
        nn.utils.clip_grad_norm_(net.parameters(), config.grad_clip)
    optimizer.step()
    return outputs, loss, parts


def build_model(config: TrainConfig, num_classes: int) -> GoogLeNet:
    torch.manual_seed(effective_init_seed(config.to_dict()))  # the same in every process
    return googlenet(num_classes, **config.model_options())


def make_optimizer(config: TrainConfig, parameters) -> torch.optim.Optimizer:
    if config.optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(parameters, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)


def train(config: TrainConfig, out_dir: str | Path | None = None, *, resume: bool = False,
          datasets: tuple[Dataset, Dataset] | None = None,
          initial_weights: dict[str, torch.Tensor] | None = None) -> TrainResult:
    """Train GoogLeNet as ``config`` says. With ``out_dir``, a checkpoint and the metrics history (CSV and JSON) are
    written there after every epoch; ``resume=True`` continues the run found there (if any). ``datasets`` replaces
    the (train, eval) data sets that ``config`` names. ``initial_weights`` (a ``state_dict``) replaces the
    initialization of a new run (a resumed run continues from its checkpoint)."""
    device = resolve_device(config.device)
    amp = uses_amp(device, config.amp)
    channels_last = uses_channels_last(config.channels_last)
    processes = distributed.start(device.type)
    if device.type == "cuda":
        device = torch.device("cuda", processes.local_rank)
        torch.backends.cudnn.benchmark = True
    locked = checkpoints.run_lock(out_dir) if out_dir is not None and processes.is_main else contextlib.nullcontext()
    try:
        with locked:
            distributed.barrier(processes)  # the other processes read the run only once the first one holds it
            return _train(config, Path(out_dir) if out_dir is not None else None, resume, datasets, device, amp,
                          channels_last, processes, initial_weights)
    finally:
        distributed.stop(processes)


def _train(config, out_dir, resume, datasets, device, amp, channels_last, processes, initial_weights) -> TrainResult:
    path = out_dir / checkpoints.CHECKPOINT if out_dir is not None else None
    state = None
    if path is not None and path.exists():
        if not resume:
            raise FileExistsError(f"{out_dir} already holds a run ({path.name}); pass resume=True (--resume) to "
                                  f"continue it, or choose another folder")
        state = checkpoints.load(path)
        _check_resumable(state["config"], config)

    if datasets is None:  # the first process first, so that it alone downloads what download=True fetches
        datasets = distributed.main_process_first(processes, config.training_sets)
    train_set, eval_set = datasets
    with torch.random.fork_rng(devices=[]):  # a folder of damaged files stops here, before any work
        real.check_first_images(train_set)
    num_classes = len(train_set.classes)
    train_loader, eval_loader = _loaders(config, processes, device, train_set, eval_set)
    steps_per_epoch = len(train_loader) if config.steps_per_epoch is None else min(config.steps_per_epoch,
                                                                                      len(train_loader))

    model = build_model(config, num_classes)
    if initial_weights is not None and state is None:
        model.load_state_dict(initial_weights)
    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    decay = polyak_decay(config.polyak_epochs, steps_per_epoch)
    averaged = PolyakAverage(model, decay) if config.polyak == "ema" else None
    optimizer = make_optimizer(config, model.parameters())
    scheduler = build_scheduler(optimizer, config, steps_per_epoch)
    history: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    start_epoch = 1
    if state is not None:
        model.load_state_dict(state["model"])
        if averaged is not None:
            averaged.load_state_dict(state["averaged"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        history, steps, start_epoch = state["history"], state["steps"], state["epoch"] + 1
    partial = state.get("partial") if state is not None else None  # a run stopped mid-epoch: where it stopped
    if partial is not None and processes.distributed:
        raise RunMismatchError(f"{path} was saved in the middle of epoch {partial['epoch']} by a run of one process; "
                               f"resume it with one process (the rest of that epoch), then with more")

    net: nn.Module = model
    if processes.distributed:
        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if config.compile:
        net = torch.compile(net, mode=config.compile_mode)

    def save_run(epoch: int, partial: Optional[dict] = None) -> None:
        """The run after ``epoch`` whole epochs and, with ``partial``, the steps of the next one it has taken."""
        if path is None or not processes.is_main:
            return
        checkpoints.save({"model": model.state_dict(),
                         "averaged": averaged.state_dict() if averaged is not None else None,
                         "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                         "epoch": epoch, "config": config.to_dict(), "num_classes": num_classes,
                         "classes": list(train_set.classes), "history": history, "steps": steps,
                         "partial": partial, "processes": processes.world_size}, path)
        checkpoints.save_csv(history, out_dir / "history.csv")
        checkpoints.save_json({"config": config.to_dict(), "history": history}, out_dir / "history.json")
        checkpoints.save_csv(steps, out_dir / "steps.csv")

    def save_mid_epoch(epoch: int, step: int, lr: float, seconds: float, sums, window, hits, unreadable) -> None:
        """Everything the rest of the epoch needs to continue exactly as if never stopped: the random state
        (dropout) and the running sums, with the step reached (the sampler skips what was trained on). One process
        only (see ``stop`` below)."""
        save_run(epoch - 1, partial={
            "epoch": epoch, "step": step, "lr": lr, "seconds": seconds, "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
            "sums": {k: v.detach().cpu() for k, v in sums.items()},
            "window": {k: v.detach().cpu() for k, v in window.items()}, "hits": hits.detach().cpu(),
            "unreadable": unreadable})

    # one process only: under torchrun a SIGTERM also comes when another process died, and the agreement the
    # processes would need to save together cannot be reached then; a distributed run resumes from its last epoch
    stop = _StopRequest(active=path is not None and not processes.distributed)
    try:
        return _epochs(config, out_dir, processes, device, amp, channels_last, net, model, averaged, optimizer,
                       scheduler, train_loader, eval_loader, steps_per_epoch, start_epoch, partial, history, steps,
                       save_run, save_mid_epoch, stop)
    finally:
        stop.restore()


def _epochs(config, out_dir, processes, device, amp, channels_last, net, model, averaged, optimizer, scheduler,
            train_loader, eval_loader, steps_per_epoch, start_epoch, partial, history, steps, save_run,
            save_mid_epoch, stop) -> TrainResult:
    """The epochs of :func:`train`, from ``start_epoch`` (and, with ``partial``, from the step it stopped at)."""
    path = out_dir / checkpoints.CHECKPOINT if out_dir is not None else None
    local_batch = config.batch_size // processes.world_size
    split = len(train_loader.dataset)
    distinct = {item for row in history for item in row.get("unreadable_images", [])}  # every epoch meets them again
    for epoch in range(start_epoch, config.epochs + 1):
        resumed = partial if partial is not None and partial["epoch"] == epoch else None
        done = resumed["step"] if resumed is not None else 0
        torch.manual_seed(epoch_seed(config.seed, epoch, processes.rank))  # dropout
        # the sample order, the same in every process, and the augmentation; a resumed epoch skips what it trained on
        train_loader.sampler.set_epoch(epoch, skip=done * local_batch)
        lr = optimizer.param_groups[0]["lr"]
        started = time.perf_counter()
        net.train()
        sums: dict[str, torch.Tensor] = {}
        window: dict[str, torch.Tensor] = {}
        hits = torch.zeros((), device=device)
        unreadable: list[str] = list(resumed.get("unreadable", [])) if resumed is not None else []
        if resumed is not None:  # as the epoch was when it stopped
            torch.set_rng_state(resumed["rng"])
            if device.type == "cuda" and resumed["cuda_rng"] is not None:
                torch.cuda.set_rng_state(resumed["cuda_rng"], device)
            sums = {k: v.to(device) for k, v in resumed["sums"].items()}
            window = {k: v.to(device) for k, v in resumed["window"].items()}
            hits = resumed["hits"].to(device)
            lr, started = resumed["lr"], time.perf_counter() - resumed["seconds"]
        bar = tqdm(total=steps_per_epoch, initial=done, desc=f"epoch {epoch}/{config.epochs}", leave=False,
                   mininterval=1.0, disable=not (config.progress and processes.is_main))
        batches = itertools.islice(train_loader, steps_per_epoch - done)
        for step, (images, targets, skipped) in enumerate(batches, start=done + 1):
            if skipped:  # images that cannot be read: left out of the batch, named, counted
                for item in skipped:
                    tqdm.write(f"skipped: {item}")
                unreadable += skipped
                distinct.update(skipped)
                if len(distinct) > real.MAX_UNREADABLE_SHARE * split / processes.world_size:
                    raise real.TooManyUnreadableImagesError(
                        f"{len(distinct)} images of the train split cannot be read, more than the "
                        f"{real.MAX_UNREADABLE_SHARE:.2%} of its {split:,} a run may skip (the first: "
                        f"{sorted(distinct)[0]}); the run stopped and kept its last checkpoint: check the folder")
            images, targets = _to_device(images, targets, device, channels_last)
            outputs, loss, parts = train_step(net, optimizer, images, targets, config, amp=amp)
            scheduler.step()
            if averaged is not None:
                averaged.update_parameters(model)
            logits = outputs.logits if isinstance(outputs, GoogLeNetOutputs) else outputs
            hits += (logits.argmax(1) == targets).sum()
            for name, value in {"total": loss, **parts}.items():
                sums[name] = sums.get(name, 0) + value.detach()
                window[name] = window.get(name, 0) + value.detach()
            if step % LOG_EVERY == 0 or step == steps_per_epoch:
                count = (step - 1) % LOG_EVERY + 1
                record = _mean_over_processes(window, count, processes)
                if not all(map(math.isfinite, record.values())):
                    last = f"epoch {epoch - 1}'s checkpoint in {out_dir}" if path is not None and epoch > 1 else \
                        "no checkpoint (nothing was saved)"
                    raise NonFiniteLossError(
                        f"the training loss became non-finite ({record}) in epoch {epoch} within steps "
                        f"{step - count + 1}-{step}; the run stopped and kept {last}. Lower the learning rate "
                        f"(lr={config.lr}), set grad_clip, or check the data for NaNs.")
                steps.append({"epoch": epoch, "step": (epoch - 1) * steps_per_epoch + step,
                              "lr": optimizer.param_groups[0]["lr"], **{f"loss_{k}": v for k, v in record.items()}})
                window = {}
                bar.set_postfix(loss=f"{record['total']:.3f}")
            bar.update()
            if step < steps_per_epoch and stop.signal is not None:
                save_mid_epoch(epoch, step, lr, time.perf_counter() - started, sums, window, hits, unreadable)
                bar.close()
                raise _stopped(stop, out_dir, f"in epoch {epoch} after step {step} of {steps_per_epoch}")
        bar.close()
        seen = torch.tensor(float(steps_per_epoch * config.batch_size), device=device)
        train_hits = distributed.sum_over_processes(hits.float(), processes) / seen
        seconds = time.perf_counter() - started
        row: dict[str, Any] = {"epoch": epoch, "lr": lr, "steps": epoch * steps_per_epoch,
                               **{f"train_loss_{k}": v for k, v in
                                  _mean_over_processes(sums, steps_per_epoch, processes).items()},
                               "train_top1": train_hits.item(), "train_seconds": seconds,
                               "unreadable_images": _over_processes(unreadable, processes),
                               "images_per_second": steps_per_epoch * config.batch_size / seconds}
        evaluated = {"": model, "polyak_": averaged.module if averaged is not None else None}
        for prefix, candidate in evaluated.items():
            if candidate is not None:
                metrics = split_metrics(candidate, eval_loader, device, amp=amp, channels_last=channels_last,
                                   processes=processes)
                row.update({f"{prefix}val_{k}": v for k, v in metrics.items()})
        history.append(row)
        save_run(epoch)
        distributed.barrier(processes)  # no process starts the next epoch before the checkpoint is written
        if config.progress and processes.is_main:
            polyak = f", Polyak {row['polyak_val_top1']:.1%}" if averaged is not None else ""
            tqdm.write(f"epoch {epoch}/{config.epochs}: loss {row['train_loss_total']:.3f}, val top-1 "
                       f"{row['val_top1']:.1%}{polyak} ({seconds:.0f} s, {row['images_per_second']:.0f} images/s)")
        if epoch < config.epochs and stop.signal is not None:  # stopped while it finished the epoch
            raise _stopped(stop, out_dir, f"at the end of epoch {epoch}")

    return TrainResult(config, model, averaged.module if averaged is not None else None, history, steps, out_dir)


def _over_processes(items: list[str], processes: distributed.Processes) -> list[str]:
    """Every process's ``items``, in rank order (one process: ``items``)."""
    if not processes.distributed:
        return list(items)
    gathered: list = [None] * processes.world_size
    torch.distributed.all_gather_object(gathered, list(items))
    return [item for part in gathered for item in part]


def _stopped(stop: _StopRequest, out_dir: Path, where: str) -> TrainingStopped:
    import signal

    number = stop.signal or signal.SIGTERM
    return TrainingStopped(f"{signal.Signals(number).name} stopped the run {where}; it is saved in {out_dir}: "
                           f"continue it with `python -m reproduce train --out {out_dir} --resume` (or "
                           f"train(..., resume=True)), which ends with the weights of an uninterrupted run", number)


def score_split(model: nn.Module, config: TrainConfig, split: str = "test", *, batch_size: int = 256) -> dict[str, float]:
    """Loss, top-1 and top-5 of ``model`` on ``split`` of the data set ``config`` names, one centre crop per image,
    on ``config``'s device."""
    device = resolve_device(config.device)
    channels_last = uses_channels_last(config.channels_last)
    amp = uses_amp(device, config.amp)
    test_set = config.evaluation_set(split)
    loader = DataLoader(test_set, batch_size=batch_size, num_workers=config.num_workers)
    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return split_metrics(model, loader, device, amp=amp, channels_last=channels_last)


def score_runs(results: dict[str, TrainResult], split: str = "test") -> list[dict[str, Any]]:
    """:func:`score_split` for every run (``{name: TrainResult}``), raw weights and, where the run has them, the Polyak
    average: one row per run and weights, with the run's name, seed, top-1 and top-5."""
    rows = []
    for name, result in results.items():
        for weights, model in (("raw", result.model), ("Polyak", result.averaged)):
            if model is not None:
                scored = score_split(model, result.config, split)
                rows.append({"run": name, "seed": result.config.seed, "weights": weights, "top1": scored["top1"],
                             "top5": scored["top5"]})
    return rows
