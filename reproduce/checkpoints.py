"""Checkpoints that survive interruption: written atomically, read back with ``weights_only=True``; and a trained
run's model rebuilt from its checkpoint (:func:`load_trained`), which training resumes from and evaluation scores.

A checkpoint is a dict of tensors, numbers, strings, lists and dicts only, which is what ``torch.load`` accepts with
``weights_only=True`` (it refuses to unpickle arbitrary objects, so loading a checkpoint cannot run code).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path
from typing import Any, Iterator

import torch

from .models import GoogLeNet, googlenet
from .models.googlenet import MODEL_OPTIONS

CHECKPOINT = "checkpoint.pt"


class WriteFailedError(OSError):
    """A checkpoint or results file could not be written (a full disk, say); the previous file is unchanged."""


def _replace_atomically(path: Path, write) -> None:
    """Write to a temporary file beside ``path``, flush it to disk, then rename it over ``path``: a reader (or a run
    resumed after a crash) sees the old file or the new one, never half of one. When the write fails (or is
    interrupted), the temporary file is removed and ``path`` keeps its previous content; a failure is raised as
    :class:`WriteFailedError`, naming the file and the cause."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        tmp.unlink(missing_ok=True)
        if not isinstance(error, Exception):  # KeyboardInterrupt, SystemExit: cleaned up, passed on
            raise
        kept = f"the previous {path.name} is unchanged" if path.exists() else f"no {path.name} was written"
        raise WriteFailedError(f"could not write {path} ({type(error).__name__}: {error}); {kept}") from error


def save(state: dict[str, Any], path: str | os.PathLike) -> None:
    _replace_atomically(Path(path), lambda f: torch.save(state, f))


def save_json(data: Any, path: str | os.PathLike) -> None:
    _replace_atomically(Path(path), lambda f: f.write(json.dumps(data, indent=1).encode()))


def save_csv(rows: list[dict[str, Any]], path: str | os.PathLike) -> None:
    import pandas as pd

    _replace_atomically(Path(path), lambda f: f.write(pd.DataFrame(rows).to_csv(index=False).encode()))


class UnreadableCheckpointError(ValueError):
    """A checkpoint or state_dict file that ``torch.load`` cannot read: truncated, corrupt, or not a torch file."""


def load(path: str | os.PathLike) -> dict[str, Any]:
    """A checkpoint (or any file ``torch.save`` wrote: a state_dict), read on the CPU with ``weights_only=True``. A
    missing file is a ``FileNotFoundError``; one that cannot be read an :class:`UnreadableCheckpointError` that names
    the file and the cause."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises RuntimeError, UnpicklingError, EOFError, ... by what is wrong
        cause = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UnreadableCheckpointError(
            f"cannot read {path} ({path.stat().st_size:,} bytes): {cause}; the file is truncated, corrupt or not "
            f"a file torch.save wrote (a copy that did not finish?)") from error


@contextlib.contextmanager
def run_lock(folder: str | os.PathLike) -> Iterator[None]:
    """Hold ``folder``'s run for the duration of a ``with`` block: a second process that trains into the same folder
    (another notebook training the same network, say) waits until the first has finished, then resumes or reloads
    what it left instead of training beside it. An exclusive ``flock`` on ``folder/.lock``, released when the block
    ends or the process dies."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def load_trained(path: str | os.PathLike, *, which: str = "polyak",
                 device: str | torch.device = "cpu") -> tuple[GoogLeNet, dict[str, Any]]:
    """The model saved in a run's checkpoint (``path``: the file or the run's folder; ``which``: ``"polyak"``, the
    averaged weights the paper evaluates, or ``"raw"``), in eval mode on ``device``, and the checkpoint's other
    contents. The network is built from the options its training configuration recorded."""
    if which not in ("polyak", "raw"):
        raise ValueError(f"which={which!r} is not one of ('polyak', 'raw')")
    path = Path(path)
    state = load(path / CHECKPOINT if path.is_dir() else path)
    options = {name: state["config"][name] for name in MODEL_OPTIONS if name in state["config"]}
    model = googlenet(state["num_classes"], **options)
    if which == "polyak" and state["averaged"] is not None:
        weights = {k.removeprefix("module."): v for k, v in state["averaged"].items() if k != "n_averaged"}
    else:
        weights = state["model"]
    model.load_state_dict(weights)
    return model.to(device).eval(), state
