"""Reproduce "Going Deeper with Convolutions" (Szegedy et al., 2014): the model, its costs, and more."""

from .costs import naive_vs_reduced, table1
from .models import googlenet, googlenet_torchvision

__all__ = ["googlenet", "googlenet_torchvision", "naive_vs_reduced", "table1"]
