"""The command line: ``python -m reproduce train ...``.

Every option of :class:`reproduce.training.TrainConfig` is a flag (``--batch-size``, ``--no-aux-heads``, ...); options
with a fixed set of values reject anything else by name, listing the valid choices. Under
``torchrun --nproc_per_node=N`` the same command trains with DistributedDataParallel.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from typing import Optional, Sequence

from .training.config import CHOICES, TrainConfig


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    hints = typing.get_type_hints(TrainConfig)
    for field in dataclasses.fields(TrainConfig):
        if field.name == "extra":
            continue
        flag = "--" + field.name.replace("_", "-")
        kind = hints[field.name]
        optional = typing.get_origin(kind) is typing.Union
        base = next(a for a in typing.get_args(kind) if a is not type(None)) if optional else kind
        if base is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=field.default,
                                help=f"(default: {field.default})")
        else:
            parser.add_argument(flag, type=base, default=field.default, choices=CHOICES.get(field.name),
                                help=f"(default: {field.default})")


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m reproduce",
                                   description="Reproduce 'Going Deeper with Convolutions' (GoogLeNet).")
    commands = main.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train GoogLeNet with the paper's recipe (Section 6)",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    train.add_argument("--out", required=True, help="folder for the checkpoint and the metrics history")
    train.add_argument("--resume", action="store_true", help="continue the run in --out")
    _add_config_flags(train)
    return main


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = vars(parser().parse_args(argv))
    command, out, resume = args.pop("command"), args.pop("out"), args.pop("resume")
    if command == "train":
        from .training import train

        try:
            config = TrainConfig(**args)
        except ValueError as error:
            print(f"python -m reproduce train: error: {error}", file=sys.stderr)
            return 2
        result = train(config, out, resume=resume)
        if result.history:
            last = result.history[-1]
            print(f"done: val top-1 {last['val_top1']:.2%}" +
                  (f", Polyak {last['polyak_val_top1']:.2%}" if "polyak_val_top1" in last else "") +
                  f"; results in {out}")
    return 0
