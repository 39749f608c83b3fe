"""Training as Section 6 of the paper describes it. See :mod:`.loop`."""

from .ablation import inception_v3_ablation
from .config import BOOK_CONFIG, MINIATURE_CONFIG, TrainConfig, book_config
from .launch import load_result, processes_for, train_on_all_devices, train_runs
from ..checkpoints import load_trained
from .loop import (NonFiniteLossError, TrainingStopped, TrainResult, googlenet_loss, score_split,
                   split_metrics, train, train_step)
from .schedule import compressed_step_epochs, paper_schedule

__all__ = ["BOOK_CONFIG", "MINIATURE_CONFIG", "NonFiniteLossError", "TrainingStopped", "TrainConfig", "TrainResult", "book_config",
           "compressed_step_epochs", "googlenet_loss", "inception_v3_ablation", "load_result", "load_trained", "paper_schedule", "processes_for",
           "score_split", "split_metrics", "train", "train_on_all_devices", "train_runs", "train_step"]
