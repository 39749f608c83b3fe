"""Throughput of the reproduction's code paths, measured side by side in one run against a reference: torchvision's
GoogLeNet in a plain eager loop, the machine's own matrix-multiply peak, a naive per-crop evaluation loop, running
ensemble members one by one, and the training step that consumes the embedded data. ``benchmarks/throughput.py``
runs them all (:func:`suite`) and writes the JSON that the Performance appendix of the book shows.

- :mod:`.measure`: the timing harness (alternating rounds, medians) and FLOP counting;
- :mod:`.comparisons`: the contenders of each comparison;
- :mod:`.suite`: every comparison in one run;
- :mod:`.appendix`: the appendix's targets, tables and sentences from a suite's results.

The ratios are the result; the bare times only describe the machine (:mod:`reproduce.provenance`).
"""

from .appendix import TARGETS, findings, machine_line, tables, targets, targets_table
from .comparisons import (PROFILE_GROUPS, compile_comparison, crops_comparison, data_comparison, ensemble_comparison,
                          inference_comparison, naive_crop_probabilities, training_comparison, training_profile)
from .measure import count_flops, interleaved_seconds, matmul_peak, synchronize
from .suite import PAPER_AUGMENTATION, suite

__all__ = ["PAPER_AUGMENTATION", "PROFILE_GROUPS", "TARGETS", "compile_comparison", "count_flops", "crops_comparison",
           "data_comparison", "ensemble_comparison", "findings", "inference_comparison", "interleaved_seconds",
           "machine_line", "matmul_peak", "naive_crop_probabilities", "suite", "synchronize", "tables", "targets",
           "targets_table", "training_comparison", "training_profile"]
