"""Reproduce "Going Deeper with Convolutions" (Szegedy et al., 2014): the model, its costs, training as Section 6
describes it and evaluation as Section 7 does.

The entry points, importable from here: the model (:func:`googlenet`, :func:`googlenet_torchvision`), Table 1
(:func:`table1`, :func:`naive_vs_reduced`), training (:class:`TrainConfig`, :data:`BOOK_CONFIG`, :func:`train`,
:func:`load_trained`) and evaluation (:func:`paper_crops_144`, :func:`crop_probabilities`, :class:`Ensemble`,
:func:`table3`). Training and evaluation are imported when first used, so that ``import reproduce`` stays light.
"""

import importlib

from .analysis.costs import naive_vs_reduced, table1
from .models import googlenet, googlenet_torchvision

#: The entry points that live in the training and evaluation packages, by the module that defines them.
_LATER = {"TrainConfig": "reproduce.training", "BOOK_CONFIG": "reproduce.training", "train": "reproduce.training",
          "load_trained": "reproduce.training", "paper_crops_144": "reproduce.evaluate",
          "crop_probabilities": "reproduce.evaluate", "Ensemble": "reproduce.evaluate", "table3": "reproduce.evaluate"}

__all__ = ["googlenet", "googlenet_torchvision", "naive_vs_reduced", "table1", *_LATER]


def __getattr__(name: str):
    if name in _LATER:
        return getattr(importlib.import_module(_LATER[name]), name)
    raise AttributeError(f"module 'reproduce' has no attribute {name!r}")
