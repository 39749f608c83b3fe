"""Evaluation as Section 7 of the paper does it: test-time crops (:mod:`.crops`) and softmax probabilities averaged
over crops and over the models of an ensemble (:mod:`.predict`)."""

from .crops import (CROP_KINDS, PAPER_CROP, PAPER_SCALES, SQUARES, CropBox, center_crop, crop_boxes_144,
                    paper_crops_144, scales_for, ten_crops)
from .predict import (CROPS, Ensemble, combine, crop_probabilities, cut_crops, default_batch_size, images_per_cut,
                      predict)
from .table3 import table3

__all__ = ["CROPS", "CROP_KINDS", "Ensemble", "PAPER_CROP", "PAPER_SCALES", "SQUARES", "CropBox", "center_crop",
           "combine", "crop_boxes_144", "crop_probabilities", "cut_crops", "default_batch_size",
           "images_per_cut", "paper_crops_144", "predict",
           "scales_for", "table3", "ten_crops"]
