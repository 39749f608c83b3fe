"""Runs kept by what they are: one folder per network and recipe, so that notebooks which train the same network
share one run instead of training it twice.

On ImageNet a run is days of GPU time, and the chapters train the same network more than once: the Training chapter's
GoogLeNet is the Evaluation chapter's first ensemble member (same initialization, same order of images) and Beyond
v1's first row. With a common ``runs_dir``, each of them trains into :func:`run_folder`, whose name is
:func:`run_key` of its configuration: the second notebook finds the first one's run there, finished, and reloads it
(``train(..., resume=True)``); if both start at once, :func:`reproduce.checkpoints.run_lock` makes the
second wait for the first.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .config import TrainConfig
from .loop import RESUMABLE_CHANGES, effective_init_seed

#: Options that do not change what a run computes: where and how it runs (those a resumed run may change), and where
#: the data is found. Left out of :func:`run_key`.
EXECUTION_OPTIONS = RESUMABLE_CHANGES - {"epochs"} | {"download", "data_root"}


#: Options added after runs were kept, with the value at which a run trains exactly as before they existed: at that
#: value they are left out of :func:`run_key`, so that the runs kept before keep their folders.
LATER_OPTIONS = {"warmup_epochs": 0.0}


def run_key(config: TrainConfig) -> str:
    """A name for what ``config`` trains: a hash of every option but :data:`EXECUTION_OPTIONS`, with the
    initialization's seed as :func:`~reproduce.training.loop.build_model` draws it (``init_seed`` None is ``seed``)."""
    values = {k: v for k, v in config.to_dict().items() if k not in EXECUTION_OPTIONS}
    values = {k: v for k, v in values.items() if not (k in LATER_OPTIONS and v == LATER_OPTIONS[k])}
    values["init_seed"] = effective_init_seed(values)
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:12]


def run_folder(root: str | os.PathLike, config: TrainConfig) -> Path:
    """The folder in ``root`` that keeps the run of ``config``."""
    return Path(root) / f"run-{run_key(config)}"
