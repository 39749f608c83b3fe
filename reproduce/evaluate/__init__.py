"""Evaluation as Section 7 of the paper does it: test-time crops (:mod:`.crops`) and softmax probabilities averaged
over crops and over the models of an ensemble (:mod:`.predict`)."""

from .crops import (CROP_KINDS, PAPER_CROP, PAPER_SCALES, SQUARES, CropBox, center_crop, crop_boxes_144,
                    paper_crops_144, scales_for, ten_crops)
from .predict import CROPS, Ensemble, cut_crops, predict

__all__ = ["CROPS", "CROP_KINDS", "Ensemble", "PAPER_CROP", "PAPER_SCALES", "SQUARES", "CropBox", "center_crop",
           "crop_boxes_144", "cut_crops", "paper_crops_144", "predict", "scales_for", "ten_crops"]
