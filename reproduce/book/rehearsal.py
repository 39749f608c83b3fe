"""A rehearsal of a GPU parameter set on the CPU: every notebook of the set executed as the GPU box would execute it,
on data in the exact on-disk formats the set names, with every size knob scaled down.

``python -m reproduce book --params params/imagenet-gpu.yml --rehearse --out runs/rehearsal`` writes, into
``OUT/home``, what the set's paths point to: the CIFAR "python version" archive that torchvision downloads, an
ImageFolder tree of JPEGs of mixed sizes with the oddities of ImageNet (a grayscale JPEG, a CMYK JPEG, a PNG named
``.JPEG``), and a torchvision GoogLeNet state_dict (:mod:`reproduce.data.formats`). The notebooks then run with
``HOME`` set to that folder, so that ``~/data/imagenet`` in the set reaches the generated data through the same path
handling a user's run goes through. Every parameter of :data:`SCALE` replaces the set's value in each notebook the set
names that has it (the others run with their CPU defaults anyway); everything else -- loaders, transforms, the
checkpoints in ``runs_dir``, crop scoring, the report and the HTML -- runs as it would on the GPU box.

A rehearsal is a small copy of a machine of several GPUs: it runs with :data:`PROCESSES` processes (gloo on the
CPU, standing in for GPUs), so that every run a GPU box would train through ``torchrun`` -- and the scoring of the
ensemble's crops -- goes through ``torchrun`` here too, with the collectives, the run folders that carry results
back and the resumption they imply.

What a rehearsal cannot show is what only the device does: speed, memory, synchronization. ``--plan`` estimates
those (:mod:`reproduce.book.plan`).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Iterator, Optional

#: The one override that scales a parameter set down to a rehearsal: each value of ``"config"`` replaces that field of
#: every notebook's ``config`` (what its runs change of the book's TrainConfig), each other value the parameter of that
#: name in every notebook the set names that has it. The image size stays the set's, so that the crops, scales and
#: strides of the real run are the ones rehearsed.
SCALE: dict[str, Any] = {
    "config": {"device": "cpu", "epochs": 1, "width": 0.25, "batch_size": 16, "eval_images": 16, "num_workers": 2},
    "seeds": 1,
    "members": 2,
    "test_images": 8,
    "speed_test_batch": 2,
}
#: The size of the generated data sets: CIFAR images per split, and ImageFolder classes and images per class.
CIFAR_IMAGES = {"train": 160, "test": 32}
IMAGE_FOLDER = {"classes": 4, "train_per_class": 12, "val_per_class": 4}
REAL_DATASETS = ("cifar10", "cifar100", "imagefolder")
#: Processes a rehearsal runs each launched stage with (:data:`~reproduce.training.launch.PROCESSES_VARIABLE`): two,
#: the smallest number at which sharing work out, gathering it and waiting for one another can go wrong.
PROCESSES = 2


def scaled(parameters: dict[str, dict[str, Any]], device: str = "cpu") -> dict[str, dict[str, Any]]:
    """``parameters`` (a set: notebook -> {parameter: value}) with :data:`SCALE` applied to each notebook it names,
    for the parameters that notebook has; ``device`` replaces SCALE's (a rehearsal on a GPU, scaled down alike)."""
    from .runner import notebook_defaults

    config = {**SCALE["config"], "device": device}
    rehearsal = {}
    for name, given in parameters.items():
        known = notebook_defaults(name)
        rehearsal[name] = {**given, **{key: value for key, value in SCALE.items() if key in known}}
        if "config" in known:
            rehearsal[name]["config"] = {**given.get("config", {}), **config}
    return rehearsal


def home(out: str | Path) -> Path:
    """The folder that stands in for ``~`` during a rehearsal in ``out``."""
    return Path(out).resolve() / "home"


def _under_home(path: str, fake_home: Path) -> Path:
    """``path`` with a leading ``~`` read as ``fake_home`` (what ``expanduser`` gives while HOME is ``fake_home``)."""
    with environment(HOME=str(fake_home)):
        return Path(path).expanduser()


def write_data(parameters: dict[str, dict[str, Any]], fake_home: Path) -> list[Path]:
    """Write every data set and weights file the set's notebooks read, where their paths point with ``~`` being
    ``fake_home``, each once; returns what was written."""
    from ..data import formats

    written: dict[Path, Path] = {}
    for values in parameters.values():
        dataset, root = values.get("config", {}).get("dataset"), values.get("config", {}).get("data_root")
        folder = _under_home(root, fake_home) if dataset in REAL_DATASETS and root else None
        if folder is not None and folder not in written:
            if dataset == "imagefolder":
                written[folder] = formats.write_image_folder(folder, **IMAGE_FOLDER)
            else:
                written[folder] = formats.write_cifar(folder, 10 if dataset == "cifar10" else 100,
                                                      train_images=CIFAR_IMAGES["train"],
                                                      test_images=CIFAR_IMAGES["test"], archive_only=True)
        weights = _under_home(values["torchvision_weights"], fake_home) if values.get("torchvision_weights") else None
        if weights is not None and weights not in written:
            written[weights] = formats.write_torchvision_googlenet(weights)
    return list(written.values())


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for the duration of a ``with`` block (the notebooks' kernels inherit them)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def rehearsal_processes(device: str) -> int:
    """The processes a rehearsal on ``device`` runs with by default: :data:`PROCESSES` on the CPU; on CUDA one per
    GPU (NCCL refuses two processes on one device)."""
    import torch

    return PROCESSES if device == "cpu" else max(1, torch.cuda.device_count())


def rehearse(out: str | Path, parameters: dict[str, dict[str, Any]], *, jobs: Optional[int] = None,
             build: bool = True, device: str = "cpu", processes: Optional[int] = None) -> dict[str, Any]:
    """Rehearse the parameter set ``parameters`` in ``out``: write its data under ``out/home``, scale it down
    (:func:`scaled`) and run the whole book with ``HOME`` there (:func:`reproduce.book.runner.run`). Returns what the
    run records, with the parameters executed under ``"rehearsed"``. ``device="cuda"`` rehearses the device paths on
    a GPU, scaled down alike; ``processes``: how many processes each stage a GPU box runs on all its GPUs runs with
    (``REPRODUCE_PROCESSES``; None: :func:`rehearsal_processes`)."""
    from . import runner
    from ..training.launch import PROCESSES_VARIABLE

    processes = rehearsal_processes(device) if processes is None else processes
    if not (isinstance(processes, int) and processes >= 1):
        raise ValueError(f"processes={processes!r} must be an integer >= 1")

    fake_home = home(out)
    fake_home.mkdir(parents=True, exist_ok=True)
    write_data(parameters, fake_home)
    rehearsal = scaled(parameters, device)
    # Caches that live under HOME stay where they are, so that nothing is rebuilt (matplotlib's font list, IPython's
    # profile); only paths the parameter set writes with "~" move.
    import matplotlib

    keep = {"MPLCONFIGDIR": matplotlib.get_configdir(), "IPYTHONDIR": str(Path("~/.ipython").expanduser())}
    with environment(HOME=str(fake_home), **keep, **{PROCESSES_VARIABLE: str(processes)}):
        summary = runner.run(out, rehearsal, jobs=jobs, build=build)
    return {**summary, "rehearsed": rehearsal, "processes": processes}

