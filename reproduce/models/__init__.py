"""GoogLeNet and its parts. See :mod:`reproduce.models.googlenet`."""

from .blocks import AuxiliaryHead, ConvBlock, InceptionModule, NaiveInceptionModule
from .googlenet import GoogLeNet, GoogLeNetOutputs, googlenet, googlenet_torchvision
from .init import init_weights

__all__ = ["AuxiliaryHead", "ConvBlock", "GoogLeNet", "GoogLeNetOutputs", "InceptionModule", "NaiveInceptionModule",
           "googlenet", "googlenet_torchvision", "init_weights"]
