"""Evaluation as Section 7 of the paper does it: test-time crops (:mod:`.crops`), softmax probabilities reduced over
the crops of each image and averaged over the models of an ensemble (:mod:`.predict`), Table 3 (:mod:`.table3`) and
the scoring of a checkpoint on an image folder (:mod:`.score`)."""

from .crops import (CROP_KINDS, PAPER_CROP, PAPER_SCALES, SQUARES, CropBox, center_crop, crop_boxes_144,
                    paper_crops_144, scales_for, ten_crops)
from .predict import (CROPS, CropProbabilities, DatasetImages, Ensemble, combine, crop_probabilities, cut_crops,
                      default_batch_size, default_num_workers, images_per_cut, predict)
from .table3 import table3

__all__ = ["CROPS", "CROP_KINDS", "CropProbabilities", "DatasetImages", "Ensemble", "PAPER_CROP", "PAPER_SCALES",
           "SQUARES", "CropBox", "center_crop", "combine", "crop_boxes_144", "crop_probabilities", "cut_crops",
           "default_batch_size", "default_num_workers", "images_per_cut", "paper_crops_144", "predict",
           "scales_for", "table3", "ten_crops"]
