"""What a training run is: every choice of Section 6 of the paper, and of what it leaves open, in one dataclass.

A ``TrainConfig`` holds only plain values (numbers, strings, booleans, tuples), so it is written into every checkpoint
and results file and read back with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional

from ..data import DATASETS
from ..data.transforms import CROP_SCALE
from ..models.blocks import AUX_DROPOUT, BLOCK_CHOICES, BRANCH5X5_CHOICES
from ..models.googlenet import DROPOUT, MODEL_OPTIONS, STEM_CHOICES
from ..models.init import INIT_CHOICES
from .schedule import CAFFE_POLY_POWER, LR_SCHEDULE_CHOICES, PAPER_GAMMA, PAPER_STEP_EPOCHS

DEVICES = ("auto", "cpu", "cuda")
POLYAK_CHOICES = ("ema", "none")
#: ``"sgd"``: the paper's (momentum 0.9). ``"adamw"``: not the paper's; the CPU-sized runs of the book use it, because
#: at the book's few hundred steps SGD is still near chance (benchmarks/convergence.py; the Training chapter).
OPTIMIZER_CHOICES = ("sgd", "adamw")
#: ``torch.compile``'s modes; ``"reduce-overhead"`` replays the step as CUDA graphs on a GPU.
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
#: The options with a fixed set of values, and those values.
CHOICES = {"dataset": DATASETS, "stem": STEM_CHOICES, "branch5x5": BRANCH5X5_CHOICES, "blocks": BLOCK_CHOICES,
           "init": INIT_CHOICES,
           "device": DEVICES, "polyak": POLYAK_CHOICES, "optimizer": OPTIMIZER_CHOICES,
           "lr_schedule": LR_SCHEDULE_CHOICES, "compile_mode": COMPILE_MODES}


def option(default: Any, help: str = "") -> Any:
    """A field of :class:`TrainConfig` with its default and what it means (the ``train`` command's ``--help``)."""
    return field(default=default, metadata={"help": help})


@dataclass
class TrainConfig:
    # ---- data ----
    dataset: str = option("shapes", "see reproduce.data.DATASETS")
    data_root: Optional[str] = option(None, "folder of a real data set (CIFAR, ImageFolder); unused by the embedded ones")
    download: bool = option(False, "let torchvision download CIFAR (needs internet)")
    image_size: int = option(64, "the model's input side, in pixels")
    shapes_size: int = option(64, 'embedded data sets: side ("scenes": shorter side) of the generated images')
    train_images: Optional[int] = option(None, "size of the train split (None: all of it)")
    eval_images: Optional[int] = option(None, "size of the val split (None: all of it)")
    data_seed: int = option(0, "embedded data sets: which images are generated (independent of ``seed``)")
    # ---- the paper's augmentation (Section 6), each part switchable ----
    crop: bool = option(True, "patches of crop_min_scale..100% of the area, aspect ratio in [3/4, 4/3]")
    crop_min_scale: float = option(CROP_SCALE[0], "the smallest patch, as a share of the image's area (Section 6)")
    photometric: bool = option(True, "Howard's brightness, contrast and colour distortions")
    random_interpolation: bool = option(True, "bilinear, area, nearest or bicubic, with equal probability")
    flip: bool = option(True, "horizontal flips, half of the time")
    # ---- the model (reproduce.googlenet options) ----
    stem: str = option("imagenet", '"imagenet" (Figure 3) or "small" (3x3/1 first layer, no stem pooling: 32 px CIFAR)')
    width: float = option(1.0, "multiplier of Table 1's filter counts")
    batch_norm: bool = option(False, "after every convolution (Inception-v2); False: the paper's network with LRN")
    aux_batch_norm: bool = option(False,
                                  "Inception-v3's BN-auxiliary: the auxiliary heads' FC layer batch-normalized too")
    branch5x5: str = option("5x5", "the 5x5 branch's convolution: see reproduce.models.blocks.BRANCH5X5_CHOICES")
    blocks: str = option("inception", "what stands in Table 1's inception rows: see reproduce.models.blocks.BLOCK_CHOICES")
    block_scale: float = option(1.0, '"naive"/"plain" blocks: their filters\' multiplier (reproduce.analysis.costs.equal_cost_scale)')
    aux_heads: bool = option(True, "the two auxiliary classifiers of Section 5")
    dropout: float = option(DROPOUT, "Section 5: the share of the outputs dropped before the classifier")
    aux_dropout: float = option(AUX_DROPOUT, "Section 5: the share dropped in the auxiliary heads")
    init: str = option("kaiming", "the initialization; see reproduce.models.init")
    # ---- the recipe ----
    epochs: int = option(10, "passes over the training split")
    optimizer: str = option("sgd", "Section 6: asynchronous SGD with momentum; see OPTIMIZER_CHOICES")
    batch_size: int = option(128, "global: split over the processes of a distributed run")
    lr: float = option(0.05, "the base learning rate")
    momentum: float = option(0.9, "Section 6 (SGD only)")
    weight_decay: float = option(2e-4, "not in the paper; Caffe's reference solver (AdamW: decoupled, e.g. 0.05)")
    lr_schedule: str = option("step", '"step": Section 6\'s; "poly": (1 - step/steps) ** lr_power, Caffe\'s')
    lr_gamma: float = option(PAPER_GAMMA, 'Section 6: "decreasing the learning rate by 4% every 8 epochs"')
    lr_step_epochs: float = option(PAPER_STEP_EPOCHS,
                                   "fractional values compress the schedule (see reproduce.training.schedule)")
    lr_power: float = option(CAFFE_POLY_POWER, '"poly": the exponent (Caffe\'s quick_solver)')
    warmup_epochs: float = option(0.0, "a linear rise of the rate over the first epochs, for a large global batch "
                                       "(reproduce.training.schedule.scaled_to_batch); 0: none, the paper's")
    aux_weight: float = option(0.3,
                               'Section 5: auxiliary losses "added to the total loss with a discount weight" of 0.3')
    label_smoothing: float = option(0.0, "Inception-v3; 0 in the paper")
    grad_clip: Optional[float] = option(None, "max gradient norm; None: no clipping (the paper's)")
    polyak: str = option("ema", "Polyak averaging of the weights for the model used at inference")
    polyak_epochs: float = option(1.0, "time constant of the average, in epochs")
    seed: int = option(0,
                       "the order of the images, augmentation and dropout (and the initialization, unless init_seed)")
    init_seed: Optional[int] = option(None, "the initialization's own seed; Section 7's ensemble members share it")
    steps_per_epoch: Optional[int] = option(None, "cap on the steps of an epoch (quick runs and tests)")
    # ---- execution ----
    device: str = option("auto", '"auto": CUDA when present, else the CPU')
    amp: Optional[bool] = option(None, "bf16 autocast; None: on CUDA only (bf16 is slow on AVX2 CPUs)")
    channels_last: Optional[bool] = option(None, "None: on (faster on CPUs and GPUs: the Performance appendix)")
    compile: bool = option(False,
                           "torch.compile the model (a CPU training step runs slower compiled: Performance appendix)")
    compile_mode: str = option("default", 'see COMPILE_MODES; "reduce-overhead": CUDA graphs')
    num_workers: int = option(0, "DataLoader worker processes")
    progress: bool = option(True, "progress bars")
    extra: dict[str, Any] = field(default_factory=dict, metadata={"help": "free-form notes kept with the run"})

    def __post_init__(self):
        for name, valid in CHOICES.items():
            if getattr(self, name) not in valid:
                raise ValueError(f"{name}={getattr(self, name)!r} is not one of {tuple(valid)}")
        positive = ("image_size", "shapes_size", "epochs", "batch_size", "lr", "lr_step_epochs", "lr_power",
                    "width", "polyak_epochs", "block_scale")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        for name in ("dropout", "aux_dropout", "label_smoothing", "momentum"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")
        if not 0 < self.crop_min_scale <= 1:
            raise ValueError(f"crop_min_scale must be in (0, 1], got {self.crop_min_scale!r}")
        if not 0 < self.lr_gamma <= 1:
            raise ValueError(f"lr_gamma must be in (0, 1], got {self.lr_gamma!r}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"grad_clip must be positive or None, got {self.grad_clip!r}")
        if self.weight_decay < 0 or self.aux_weight < 0 or self.num_workers < 0 or self.warmup_epochs < 0:
            raise ValueError("weight_decay, aux_weight, num_workers and warmup_epochs must not be negative")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be positive or None, got {self.steps_per_epoch!r}")
        if self.dataset in ("cifar10", "cifar100", "imagefolder") and not self.data_root:
            raise ValueError(f"dataset={self.dataset!r} needs data_root, the folder that holds it")

    def model_options(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in MODEL_OPTIONS}

    def training_sets(self, *, train_images: Optional[int] = None, eval_images: Optional[int] = None):
        """The (train, validation) data sets this configuration trains on (:func:`reproduce.data.datasets`): its data
        set and sizes (``train_images``/``eval_images``, where given, instead of its own) and Section 6's
        augmentation as it switches each part."""
        from ..data import datasets

        return datasets(self.dataset, root=self.data_root, image_size=self.image_size, download=self.download,
                        shapes_size=self.shapes_size, train_images=train_images or self.train_images,
                        eval_images=eval_images or self.eval_images, data_seed=self.data_seed, crop=self.crop,
                        crop_scale=(self.crop_min_scale, CROP_SCALE[1]), photometric=self.photometric,
                        random_interpolation=self.random_interpolation, flip=self.flip)

    def evaluation_set(self, split: str = "test"):
        """``split`` of this configuration's data set, one centre crop per image at the scale it trains at
        (:func:`reproduce.data.evaluation_set`)."""
        from ..data import evaluation_set

        return evaluation_set(self.dataset, split, root=self.data_root, image_size=self.image_size,
                              download=self.download, shapes_size=self.shapes_size, data_seed=self.data_seed,
                              crop=self.crop)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown TrainConfig fields {sorted(unknown)}; valid: {sorted(known)}")
        return cls(**values)

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def describe(self) -> str:
        """The network as this configuration trains it, in words a page names every result with: the network and
        its normalization, width, optimizer, augmentation, input and length, e.g. "GoogLeNet at 1/4 width, batch
        norm, AdamW (lr 0.002); whole images, flips; 64 px shapes; 3 epochs of 4,800 images"."""
        from fractions import Fraction

        network = {"inception": "GoogLeNet", "naive": "GoogLeNet with naive modules (Figure 2a)",
                   "plain": "a plain 3x3 stack of GoogLeNet's depth"}[self.blocks]
        width = Fraction(self.width).limit_denominator(64)
        model = [f"{network} at {'full' if width == 1 else str(width)} width"
                 + (f", its blocks' filters x{self.block_scale:.3g}" if self.blocks != "inception" else ""),
                 "batch norm" if self.batch_norm else "LRN (no batch norm, the paper's)"]
        model += [words for flag, words in ((self.branch5x5 != "5x5", f"5x5 branch as {self.branch5x5}"),
                                            (self.aux_batch_norm, "BN-auxiliary"),
                                            (not self.aux_heads, "no auxiliary heads"),
                                            (self.label_smoothing > 0, f"label smoothing {self.label_smoothing:g}"))
                  if flag]
        model.append("SGD with momentum (the paper's" if self.optimizer == "sgd" else "AdamW (not the paper's")
        model[-1] += f", lr {self.lr:g})"
        shown = [f"Section 6's crops of {self.crop_min_scale:.0%}-100%" if self.crop else "whole images"]
        shown += [words for flag, words in ((self.photometric, "photometric distortions"),
                                            (self.random_interpolation, "random interpolation"),
                                            (self.flip, "flips")) if flag]
        images = f"{self.train_images:,} images" if self.train_images else "the whole train split"
        return (f"{', '.join(model)}; {', '.join(shown)}; {self.image_size} px {self.dataset}; "
                f"{self.epochs} epoch{'s' if self.epochs != 1 else ''} of {images}")


#: The configuration every chapter that trains GoogLeNet starts from, sized for the 2-core CPU that builds the book:
#: the network at a quarter of Table 1's width on the embedded 64 px images, with batch normalization and AdamW (at
#: a few hundred steps the paper's SGD is still near chance: the Training chapter measures both), the paper's 4%
#: learning-rate decay compressed 32x, and the paper's augmentation off but for flips (within these runs it slows
#: learning: the Training chapter measures that too). The sizes are a small run of every part; params/cpu.yml
#: lengthens them to the published book's. A notebook's ``config`` parameter names only what differs from it
#: (:func:`book_config`), and so do the benchmarks.
BOOK_CONFIG = TrainConfig(image_size=64, width=0.25, batch_norm=True, optimizer="adamw", lr=2e-3, weight_decay=0.05,
                          batch_size=32, epochs=1, lr_step_epochs=0.25, polyak_epochs=0.1, train_images=1024,
                          eval_images=200, crop=False, photometric=False, random_interpolation=False, flip=True)


def book_config(changes: Optional[dict[str, Any]] = None) -> TrainConfig:
    """:data:`BOOK_CONFIG` with the fields ``changes`` names replaced: what a notebook trains, given its ``config``
    parameter (e.g. ``{"dataset": "cifar100", "data_root": "~/data/cifar100", "width": 1.0}``). A name that is not a
    field of :class:`TrainConfig`, or a value out of its range, is refused by name."""
    return TrainConfig.from_dict({**BOOK_CONFIG.to_dict(), **(changes or {})})


#: The miniature the paper's claims are to be decided on (issue 27; ``benchmarks/miniature.py`` measures it): the
#: embedded scenes (:mod:`reproduce.data.scenes`: twenty classes, objects over a range of 5x in scale, clutter,
#: occlusion, landscape and portrait) at 128 px through the paper's stem, so that inceptions 3a-3b see 16x16 maps,
#: 4a-4e 8x8 and 5a-5b 4x4 (the paper's 28, 14 and 7, at least half of each), with Section 6's crops of 8-100% of
#: the area at aspect ratios in [3/4, 4/3] and flips, so that Section 7's test crops cut what training showed. The
#: network is GoogLeNet at an eighth of Table 1's width with batch norm and AdamW, and it trains 20 epochs of 4,800
#: images (3,000 steps of 32), the length ``benchmarks/miniature.py`` measured it to need.
MINIATURE_CONFIG = BOOK_CONFIG.replace(dataset="scenes", image_size=128, shapes_size=160, width=0.125, crop=True,
                                       train_images=4800, eval_images=1000, epochs=20)
