"""Training, and scoring, on every GPU of the machine from a notebook: one process per GPU, started through
``torchrun``.

A notebook is one Python process, and DistributedDataParallel needs one process per GPU. :func:`train_on_all_devices`
bridges the two: with one process (the CPU, or a single GPU) it is exactly :func:`~reproduce.training.train` in the
notebook's process; with N > 1 it runs ::

    python -m torch.distributed.run --standalone --nproc_per_node=N -m reproduce train --out OUT [--resume] FLAGS

as a child process, with one flag per :class:`~reproduce.training.config.TrainConfig` field (:func:`config_flags`),
passes the child's output through to the notebook as it comes (the progress bars and the per-epoch lines), and then
reads the run back from ``OUT``'s checkpoint (:func:`load_result`), which the first process wrote. Every process
of the child runs the same loop (:mod:`.loop`, :mod:`.distributed`): each takes its share of every global batch, so
the N processes take the same steps as one process with the same ``batch_size``.

How many processes (:func:`processes_for`): one per CUDA device when the run's device is CUDA and there are
several, else 1. The environment variable ``REPRODUCE_PROCESSES`` (an integer >= 1) overrides that, e.g. to keep a
run on one GPU of a shared machine (``REPRODUCE_PROCESSES=1``) or to run 2 gloo processes on the CPU
(``REPRODUCE_PROCESSES=2``, what the tests do). Inside a process that ``torchrun`` started (``WORLD_SIZE`` > 1) it is
always 1: that process already is one of the run's processes, and :func:`~reproduce.training.train` joins them.

What cannot cross the process boundary is refused by name rather than dropped: the free-form ``extra`` field of the
config (the command line has no flag for it), and a run without an output folder (the checkpoint is how the result
comes back). The data sets and initial weights that :func:`~reproduce.training.train` accepts as Python objects have
no counterpart here; :func:`~reproduce.training.ensemble.train_ensemble` trains such runs in its own process.

Scoring the members' crops goes the same way (:func:`score_on_all_devices`): ``python -m reproduce
score-test-split`` under ``torchrun`` shares the images out over the processes and keeps what each computes in a
folder, from which the notebook reads them.
"""

from __future__ import annotations

import codecs
import dataclasses
import os
import shlex
import subprocess
import sys
import threading
import typing
from pathlib import Path
from typing import Optional, Sequence

import torch

from .. import checkpoints
from ..checkpoints import load_trained
from .config import TrainConfig
from ..device import resolve_device
from .loop import TrainResult, _check_resumable, train

#: The environment variable that sets how many processes a run uses (an integer >= 1), whatever the machine has.
PROCESSES_VARIABLE = "REPRODUCE_PROCESSES"


def processes_for(config: TrainConfig) -> int:
    """How many processes :func:`train_on_all_devices` runs ``config`` with: ``REPRODUCE_PROCESSES`` when it is set;
    else the number of CUDA devices when ``config.device`` resolves to CUDA and there are several; else 1. Always 1
    inside a process of a distributed run (``WORLD_SIZE`` > 1 in the environment)."""
    if int(os.environ.get("WORLD_SIZE", "1") or "1") > 1:
        return 1
    value = os.environ.get(PROCESSES_VARIABLE, "").strip()
    if value:
        try:
            count = int(value)
        except ValueError:
            count = 0
        if count < 1:
            raise ValueError(f"{PROCESSES_VARIABLE}={value!r} is not an integer >= 1 (the number of processes a "
                             f"training run uses; unset it to use one per GPU)")
        return count
    if resolve_device(config.device).type == "cuda":
        return max(torch.cuda.device_count(), 1)
    return 1


def config_flags(config: TrainConfig) -> list[str]:
    """The command-line flags of ``python -m reproduce train`` that give ``config``: ``--name=value`` for every field
    (``--name``/``--no-name`` for booleans), none for a field that is None (the command line's default for each of
    those is None). The ``extra`` field has no flag: a non-empty one is refused."""
    if config.extra:
        raise ValueError(f"extra={config.extra!r} cannot be passed on a command line (python -m reproduce train has "
                         f"no flag for it); train in this process, or leave extra empty")
    hints = typing.get_type_hints(TrainConfig)
    flags = []
    for field in dataclasses.fields(TrainConfig):
        value = getattr(config, field.name)
        if field.name == "extra" or value is None:
            continue
        flag = "--" + field.name.replace("_", "-")
        if bool in (hints[field.name], *typing.get_args(hints[field.name])):
            flags.append(flag if value else "--no-" + flag[2:])
        else:  # "=" keeps a value that starts with "-" (a path, a negative number) the flag's value
            flags.append(f"{flag}={float(value)!r}" if isinstance(value, float) else f"{flag}={value}")
    return flags


def launch_command(config: TrainConfig, out_dir: str | Path, processes: int, *, resume: bool) -> list[str]:
    """The command that trains ``config`` into ``out_dir`` with ``processes`` processes on this machine; ``resume``:
    continue the run there (the command line refuses ``--resume`` on a folder that holds none)."""
    return torchrun_command(processes, ["train", "--out", str(out_dir), *(["--resume"] if resume else []),
                                        *config_flags(config)])


#: How often ``torchrun`` starts every process again after one died (a GPU's transient fault, a killed process):
#: ``reproduce train`` then resumes from the run's last checkpoint, ``score-test-split`` from the blocks it kept.
MAX_RESTARTS = 3


def torchrun_command(processes: int, arguments: Sequence[str]) -> list[str]:
    """``python -m reproduce ARGUMENTS`` in ``processes`` processes on this machine, started by ``torchrun``."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
            f"--max-restarts={MAX_RESTARTS}", "-m", "reproduce", *arguments]


def score_on_all_devices(members: Sequence[TrainResult], keep: str | Path, *, weights: str,
                         test_images: Optional[int], many_crop_images: Optional[int], crop_counts: Sequence[int],
                         processes: Optional[int] = None) -> bool:
    """Table 3's crop probabilities of ``members`` (trained runs, each kept in its ``out_dir``) on the test split of
    their configuration, computed by ``processes`` processes (:func:`processes_for` the first member's config when
    None), each on its own GPU, into ``keep`` (``python -m reproduce score-test-split`` under ``torchrun``; see
    :func:`reproduce.evaluate.table3.score_test_split`, whose call with the same ``keep`` then reads them back).
    With one process nothing is started and False returned: that call scores in this process, resuming from
    ``keep`` alike. ``weights``: ``"polyak"`` (the averaged weights where a member has them) or ``"raw"``."""
    count = processes_for(members[0].config) if processes is None else processes
    if count == 1:
        return False
    folders = [member.out_dir for member in members]
    if any(folder is None for folder in folders):
        raise ValueError(f"scoring with {count} processes reads the members from their run folders, and a member "
                         f"has none (trained without out_dir); train them into a folder, or set "
                         f"{PROCESSES_VARIABLE}=1")
    command = torchrun_command(count, [
        "score-test-split", *(f"--member={folder}" for folder in folders), f"--weights={weights}",
        f"--test-images={'all' if test_images is None else test_images}",
        f"--many-crop-images={'all' if many_crop_images is None else many_crop_images}",
        "--crops", *map(str, crop_counts), f"--keep={keep}"])
    code = _run(command)
    if code != 0:
        raise RuntimeError(f"scoring with {count} processes failed (exit code {code}); what was scored is kept in "
                           f"{keep}, and the same call resumes from it; the command was: {shlex.join(command)}")
    return True


def load_result(out_dir: str | Path, device: str | None = None) -> TrainResult:
    """The run kept in ``out_dir`` as a :class:`~reproduce.training.TrainResult`: its raw and Polyak-averaged models
    (None when ``polyak="none"``), in eval mode on ``device`` (None: the device its configuration trained on, as the
    device policy resolves it, so that what follows a multi-process run, scoring the crops above all, runs where
    the training did), its history, steps and config."""
    model, state = load_trained(out_dir, which="raw")
    where = resolve_device(state["config"]["device"] if device is None else device)
    model = model.to(where)
    averaged = load_trained(out_dir, which="polyak", device=where)[0] if state["averaged"] is not None else None
    return TrainResult(TrainConfig.from_dict(state["config"]), model, averaged, state["history"], state["steps"],
                       Path(out_dir))


def train_on_all_devices(config: TrainConfig, out_dir: str | Path | None, *, resume: bool = True,
                         processes: Optional[int] = None) -> TrainResult:
    """Train ``config`` with ``processes`` processes (:func:`processes_for` when None), as
    :func:`~reproduce.training.train` would: with 1, it *is* ``train(config, out_dir, resume=resume)``; with more, the
    processes run under ``torchrun`` (see the module's documentation) and the result is read back from ``out_dir``,
    which they need. The models then come back on ``config``'s device in eval mode (:func:`load_result`), as they do
    from one process; the result's config is ``config``.

    ``resume`` means what it means for ``train``: continue the run in ``out_dir``, or start one when there is none;
    without it, a folder that holds a run is refused (``FileExistsError``). A run that cannot be resumed with
    ``config`` is refused (``RunMismatchError``) before any process starts, and one that has already reached
    ``config.epochs`` is read back without starting any."""
    count = processes_for(config) if processes is None else processes
    if not (isinstance(count, int) and count >= 1):
        raise ValueError(f"processes must be an integer >= 1, got {count!r}")
    if count == 1:
        return train(config, out_dir, resume=resume)

    if out_dir is None:
        raise ValueError(f"out_dir is None, but a run of {count} processes needs an output folder: its checkpoint is "
                         f"how the trained model comes back; pass out_dir, or set {PROCESSES_VARIABLE}=1")
    config_flags(config)  # refuses a non-empty extra before anything else
    if config.batch_size % count:
        raise ValueError(f"batch_size={config.batch_size} does not split evenly over {count} processes")
    out_dir = Path(out_dir)
    saved_path = out_dir / checkpoints.CHECKPOINT
    if saved_path.exists():  # what train() checks first, checked here so that it fails alike, with no process started
        if not resume:
            raise FileExistsError(f"{out_dir} already holds a run ({saved_path.name}); pass resume=True to continue "
                                  f"it, or choose another folder")
        saved = checkpoints.load(saved_path)
        _check_resumable(saved["config"], config)
        if saved["epoch"] >= config.epochs:  # finished: train() would take no step either
            return dataclasses.replace(load_result(out_dir, config.device), config=config)
        del saved

    command = launch_command(config, out_dir, count, resume=saved_path.exists())  # --resume: a run to continue
    code = _run(command)
    if code != 0:
        raise RuntimeError(f"training with {count} processes failed (exit code {code}); the command was: "
                           f"{shlex.join(command)}")
    return dataclasses.replace(load_result(out_dir, config.device), config=config)


def train_runs(configs: dict[str, TrainConfig], runs_dir: str | Path | None = None
               ) -> tuple[dict[str, TrainResult], dict[str, float]]:
    """Train every run of ``configs`` (``{name: config}``) in order, each on every GPU of the machine
    (:func:`train_on_all_devices`): the results by name and each run's wall seconds. With ``runs_dir`` each run is
    kept in :func:`~reproduce.training.store.run_folder` of it, by what it computes, so that a run another notebook
    trained into the same folder is reloaded, not trained again."""
    import time

    from .store import run_folder

    results, seconds = {}, {}
    for name, config in configs.items():
        started = time.perf_counter()
        results[name] = train_on_all_devices(config, run_folder(runs_dir, config) if runs_dir else None)
        seconds[name] = time.perf_counter() - started
    return results, seconds


def _run(command: list[str]) -> int:
    """Run ``command`` with its stdout and stderr copied to this process's ``sys.stdout`` and ``sys.stderr`` as they
    come (in a notebook, those are the cell's output; the file descriptors 1 and 2 of a kernel are not), and return
    its exit code. The child imports the same ``reproduce`` as this process. Interrupting this process (a notebook's
    stop button) stops the child."""
    package_root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": package_root + (os.pathsep + path if path else ""),
           "TORCH_DISABLE_SHARE_RDZV_TCP_STORE": "1"}  # restarts read no stale addresses (pytorch/pytorch#135712)
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    pumps = [threading.Thread(target=_copy, args=(stream, target), daemon=True)
             for stream, target in ((child.stdout, sys.stdout), (child.stderr, sys.stderr))]
    for pump in pumps:
        pump.start()
    try:
        code = child.wait()
    except BaseException:  # KeyboardInterrupt: torchrun passes the signal on to its processes
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        raise
    finally:
        for pump in pumps:
            pump.join(timeout=5)
    return code


def _copy(stream: typing.BinaryIO, target: typing.TextIO) -> None:
    """Copy ``stream`` to ``target`` chunk by chunk, not line by line: a progress bar redraws itself with ``\\r``."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    with stream:
        while chunk := os.read(stream.fileno(), 65536):
            target.write(decoder.decode(chunk))
            target.flush()
        target.write(decoder.decode(b"", final=True))
        target.flush()
