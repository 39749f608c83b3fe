"""Section 7's ensembles: "we independently trained 7 versions of the same GoogLeNet model ... They were trained
with the same initialization (even with the same initial weights, mainly because of an oversight) and learning rate
policies, and they only differ in sampling methodologies and the random order in which they see input images."

Two ways to train K members:

- :func:`train_ensemble` trains them one after another with :func:`~reproduce.training.train` (every member a
  complete, resumable run in its own folder);
- :class:`StackedEnsemble` holds the K members' weights stacked and trains all of them in one vectorized step
  (``torch.func.stack_module_state`` + ``vmap``), each on its own batch.

Both do the same arithmetic (tested). Which is faster depends on the device: ``benchmarks/ensemble.py`` measures
it, and the Evaluation chapter states the ratio measured where the book was built; the book trains its members with
:func:`train_ensemble`.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state
from torch.utils.data import Dataset
from tqdm import tqdm

from ..device import without_cudnn_on
from ..models import GoogLeNetOutputs
from .config import TrainConfig
from .launch import train_on_all_devices
from .loop import TrainResult, googlenet_loss, make_optimizer, train
from .store import run_folder


def member_configs(config: TrainConfig, members: int = 7, *, shared_init: bool = True) -> list[TrainConfig]:
    """The configurations of ``members`` ensemble members: ``config`` with seeds ``seed, seed + 1, ...`` (the order
    of the images, augmentation and dropout) and, with ``shared_init`` (Section 7's members), one shared
    initialization (``init_seed``, ``seed`` unless set); without it, each member's initialization is drawn with its
    own seed."""
    if not (isinstance(members, int) and members >= 1):
        raise ValueError(f"members must be a positive integer, got {members!r}")
    init_seed = (config.seed if config.init_seed is None else config.init_seed) if shared_init else None
    return [config.replace(seed=config.seed + k, init_seed=init_seed) for k in range(members)]


def train_ensemble(config: TrainConfig, members: int = 7, out_dir: str | Path | None = None, *,
                   shared_epochs: int = 0, resume: bool = True, datasets: tuple[Dataset, Dataset] | None = None,
                   run_root: str | Path | None = None, shared_init: bool = True) -> list[TrainResult]:
    """Train the members of :func:`member_configs` (``shared_init`` as it says) one after another,
    ``config.epochs`` epochs each.

    ``shared_epochs=0`` is the paper's procedure. With ``shared_epochs > 0`` (not the paper's: a way to fit an
    ensemble into a small budget) one run of ``shared_epochs`` epochs, with ``config``'s seed, is trained first,
    and every member starts from its weights instead of from the initialization, its learning rate the one that run
    ended with (the step schedule continues from there); the members still differ only in the order of the images
    they see. It needs ``lr_schedule="step"``: the "poly" schedule anneals to 0 over each run, so a shared run would
    end where the members should start.

    With ``out_dir``, the shared run is kept in ``out_dir/shared`` and member k's in ``out_dir/member-k``; with
    ``resume`` (the default) a finished run is loaded instead of retrained and an interrupted one continues from its
    last epoch. With ``run_root`` too (and ``shared_epochs=0``), member k's run is kept by what it is, in
    :func:`~reproduce.training.store.run_folder` of ``run_root``, and ``out_dir/member-k`` links to it: a member
    another notebook trains into the same ``run_root`` (the Training chapter's GoogLeNet is member 1) is reloaded,
    not trained again.

    A run that only its config and folder define (no ``datasets``, no initial weights: the shared run, and the members
    when ``shared_epochs=0``) trains on every GPU of the machine, one process per GPU
    (:func:`~reproduce.training.launch.train_on_all_devices`); the others, and every run without ``out_dir``, train
    in this process."""
    if not (isinstance(shared_epochs, int) and shared_epochs >= 0):
        raise ValueError(f"shared_epochs must be a non-negative integer, got {shared_epochs!r}")
    if shared_epochs and config.lr_schedule != "step":
        raise ValueError(f"shared_epochs={shared_epochs} needs lr_schedule='step', got "
                         f"lr_schedule={config.lr_schedule!r} (which anneals to 0 within the shared run); use "
                         f"shared_epochs=0")
    folder = (lambda name: Path(out_dir) / name) if out_dir is not None else (lambda name: None)

    def run(run_config: TrainConfig, run_dir: Path | None, initial_weights=None) -> TrainResult:
        # On every GPU (launch.train_on_all_devices) when nothing but the config and the folder defines the run: data
        # sets and initial weights are Python objects that do not cross to torchrun's processes.
        if datasets is None and initial_weights is None and run_dir is not None:
            return train_on_all_devices(run_config, run_dir, resume=resume)
        return train(run_config, run_dir, resume=resume, datasets=datasets, initial_weights=initial_weights)

    initial_weights, start = None, config
    if shared_epochs:
        if config.progress:
            tqdm.write(f"shared start: {shared_epochs} epochs (seed {config.seed})")
        shared = run(config.replace(epochs=shared_epochs), folder("shared"))
        initial_weights = {k: v.detach().cpu() for k, v in shared.model.state_dict().items()}
        start = config.replace(lr=shared.steps[-1]["lr"])  # the learning rate after its last step
    results = []
    for k, member in enumerate(member_configs(start, members, shared_init=shared_init), start=1):
        if config.progress:
            tqdm.write(f"ensemble member {k}/{members} (seed {member.seed}, initialization {member.init_seed})")
        member_dir = folder(f"member-{k}")
        if run_root is not None and not shared_epochs and member_dir is not None:
            member_dir = _linked(member_dir, run_folder(run_root, member))
        results.append(run(member, member_dir, initial_weights))
    return results


def _linked(link: Path, target: Path) -> Path:
    """``link`` made a symbolic link to ``target`` (created if need be); returns ``target``. A folder already at
    ``link`` that is not that link is refused by name (it holds another run)."""
    target.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() and link.resolve() == target.resolve():
        return target
    if link.exists() or link.is_symlink():
        raise FileExistsError(f"{link} exists and is not a link to {target}, the run it stands for; move it away")
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(target, link.parent))
    return target


def load_members(out_dir: str | Path, *, which: str = "raw") -> list[nn.Module]:
    """The members :func:`train_ensemble` kept in ``out_dir`` (``member-1``, ``member-2``, ...), in eval mode on the
    CPU, with ``which`` weights (``"raw"`` or ``"polyak"``): how another notebook reuses an ensemble already trained.
    A member whose run did not finish is refused."""
    from ..checkpoints import load_trained

    folders = sorted(Path(out_dir).glob("member-*"), key=lambda p: int(p.name.removeprefix("member-")))
    if not folders:
        raise FileNotFoundError(f"no trained members (member-1, member-2, ...) in {out_dir}")
    models = []
    for folder in folders:
        model, state = load_trained(folder, which=which)
        if state["epoch"] < state["config"]["epochs"]:
            raise ValueError(f"{folder}: the run stopped after epoch {state['epoch']} of {state['config']['epochs']}; "
                             f"finish it (train_ensemble with resume=True) before using it")
        models.append(model)
    return models


class StackedEnsemble:
    """K models of one architecture trained together: their parameters and buffers are stacked along a new first
    dimension, and one ``vmap``-ed forward pass runs every member on its own batch. The optimizer (SGD or AdamW, as
    ``config`` says) works element by element, so on the stacked tensors it does what K optimizers do on K models.
    """

    def __init__(self, models: Sequence[nn.Module], config: TrainConfig):
        if not models:
            raise ValueError("a stacked ensemble needs at least one model")
        self.config = config
        params, self.buffers = stack_module_state(list(models))  # params: leaves that require grad
        self.params = params
        self.skeleton = copy.deepcopy(models[0]).to("meta")
        self.optimizer = make_optimizer(config, self.params.values())

    @property
    def members(self) -> int:
        return next(iter(self.params.values())).shape[0]

    def _loss(self, params, buffers, images, targets):
        outputs = functional_call(self.skeleton, (params, buffers), (images,))
        loss, _ = googlenet_loss(outputs, targets, aux_weight=self.config.aux_weight,
                                 label_smoothing=self.config.label_smoothing)
        logits = outputs.logits if isinstance(outputs, GoogLeNetOutputs) else outputs
        return loss, logits

    def train_step(self, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """One optimizer step of every member: ``images`` (K, B, C, H, W), member k's batch at index k, ``targets``
        (K, B). Returns the K losses. Batch-norm running statistics are updated in the stacked buffers."""
        if images.shape[0] != self.members or targets.shape[0] != self.members:
            raise ValueError(f"need one batch per member ({self.members}), got {images.shape[0]} and "
                             f"{targets.shape[0]}")
        self.skeleton.train()
        with without_cudnn_on(images.device):
            losses, _ = torch.vmap(self._loss, randomness="different")(self.params, self.buffers, images, targets)
        self.optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()  # member k's parameters get only member k's gradient
        self.optimizer.step()
        return losses.detach()

    def member_state(self, k: int) -> dict[str, torch.Tensor]:
        """Member k's weights and buffers as a ``state_dict`` of the architecture."""
        return {name: tensor[k].detach().clone() for name, tensor in {**self.params, **self.buffers}.items()}
