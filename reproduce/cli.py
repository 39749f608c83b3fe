"""The command line: ``python -m reproduce train ...``.

Every option of :class:`reproduce.training.TrainConfig` is a flag (``--batch-size``, ``--no-aux-heads``, ...); options
with a fixed set of values reject anything else by name, listing the valid choices. Under
``torchrun --nproc_per_node=N`` the same command trains with DistributedDataParallel.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import sys
import typing
from pathlib import Path
from typing import Optional, Sequence

from .training.checkpoint import CHECKPOINT, load as load_checkpoint
from .training.config import CHOICES, TrainConfig


def _field_comments() -> dict[str, str]:
    """The comment after each field of ``TrainConfig`` in its source, used as the flag's help."""
    source = inspect.getsource(TrainConfig)
    return {name: text.replace("%", "%%") for name, text in
            re.findall(r"^    (\w+): [^#\n]*#\s*(.+)$", source, flags=re.MULTILINE)}


def _add_config_flags(parser: argparse.ArgumentParser, *, defaults: bool = True) -> None:
    hints = typing.get_type_hints(TrainConfig)
    comments = _field_comments()
    for field in dataclasses.fields(TrainConfig):
        if field.name == "extra":
            continue
        flag = "--" + field.name.replace("_", "-")
        kind = hints[field.name]
        optional = typing.get_origin(kind) is typing.Union
        base = next(a for a in typing.get_args(kind) if a is not type(None)) if optional else kind
        if base is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction,
                                default=field.default if defaults else argparse.SUPPRESS,
                                help=comments.get(field.name, "(default: %(default)s)"))
        else:
            parser.add_argument(flag, type=base, default=field.default if defaults else argparse.SUPPRESS,
                                choices=CHOICES.get(field.name),
                                help=comments.get(field.name, "(default: %(default)s)"))


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m reproduce",
                                   description="Reproduce 'Going Deeper with Convolutions' (GoogLeNet).")
    commands = main.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train GoogLeNet with the paper's recipe (Section 6)",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    train.add_argument("--out", required=True, help="folder for the checkpoint and the metrics history")
    train.add_argument("--resume", action="store_true",
                       help="continue the run in --out, with its options; flags given change them (only those a "
                            "resumed run may change: see reproduce.training.loop.RESUMABLE_CHANGES)")
    _add_config_flags(train)
    return main


def _given_flags(argv: Optional[Sequence[str]]) -> set[str]:
    """The TrainConfig fields set by a flag on the command line (not by a default)."""
    quiet = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    _add_config_flags(quiet, defaults=False)
    known, _ = quiet.parse_known_args(list(sys.argv[2:] if argv is None else argv[1:]))
    return set(vars(known))


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = vars(parser().parse_args(argv))
    command, out, resume = args.pop("command"), args.pop("out"), args.pop("resume")
    if command == "train":
        from .training import train
        from .training.loop import RunMismatchError

        saved = Path(out) / CHECKPOINT
        try:
            if resume and saved.exists():  # the run's own options, with the flags given on this command line
                given = _given_flags(argv)
                values = {**load_checkpoint(saved)["config"], **{k: v for k, v in args.items() if k in given}}
                config = TrainConfig.from_dict(values)
            else:
                config = TrainConfig(**args)
        except ValueError as error:
            print(f"python -m reproduce train: error: {error}", file=sys.stderr)
            return 2
        try:
            result = train(config, out, resume=resume)
        except (RunMismatchError, FileExistsError) as error:
            print(f"python -m reproduce train: error: {error}", file=sys.stderr)
            return 2
        if result.history:
            last = result.history[-1]
            print(f"done: val top-1 {last['val_top1']:.2%}" +
                  (f", Polyak {last['polyak_val_top1']:.2%}" if "polyak_val_top1" in last else "") +
                  f"; results in {out}")
    return 0
