"""The command line: ``python -m reproduce train ...``, ``python -m reproduce evaluate ...``,
``python -m reproduce score-test-split ...`` and ``python -m reproduce book ...``.

Every option of :class:`reproduce.training.TrainConfig` is a flag (``--batch-size``, ``--no-aux-heads``, ...); options
with a fixed set of values reject anything else by name, listing the valid choices. Under
``torchrun --nproc_per_node=N`` the same command trains with DistributedDataParallel. ``evaluate`` scores a checkpoint
(a run's, or torchvision's GoogLeNet weights) on an ImageFolder split with 1, 10 or 144 crops and writes a JSON;
``score-test-split`` keeps Table 3's crop probabilities of an ensemble's members in a folder, shared out over the
processes under ``torchrun`` (what the Evaluation chapter launches on a machine of several GPUs).
``book`` executes every notebook with a parameter set into a run folder and builds the book there
(:mod:`reproduce.book.runner`).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import typing
from pathlib import Path
from typing import Optional, Sequence

from .data.real import MAX_UNREADABLE_SHARE
from .checkpoints import CHECKPOINT, load as load_checkpoint
from .training.config import CHOICES, TrainConfig, book_config


def _add_config_flags(parser: argparse.ArgumentParser, *, defaults: bool = True) -> None:
    hints = typing.get_type_hints(TrainConfig)
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
                                help=field.metadata["help"].replace("%", "%%"))
        else:
            parser.add_argument(flag, type=base, default=field.default if defaults else argparse.SUPPRESS,
                                choices=CHOICES.get(field.name),
                                help=field.metadata["help"].replace("%", "%%"))


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m reproduce",
                                   description="Reproduce 'Going Deeper with Convolutions' (GoogLeNet).")
    commands = main.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train GoogLeNet with the paper's recipe (Section 6)",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    train.add_argument("--out", required=True, help="folder for the checkpoint and the metrics history")
    train.add_argument("--resume", action="store_true",
                       help="continue the run in --out (an error if it holds none), with its options; flags given "
                            "change them (only those a resumed run may change: see "
                            "reproduce.training.loop.RESUMABLE_CHANGES)")
    train.add_argument("--book", action="store_true",
                       help="start from the configuration the book's chapters train (reproduce.training.BOOK_CONFIG) "
                            "instead of TrainConfig's defaults; the flags given change it")
    _add_config_flags(train)
    evaluate = commands.add_parser(
        "evaluate", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help="score a trained GoogLeNet on an ImageFolder split with 1, 10 or 144 crops (Section 7)")
    evaluate.add_argument("--checkpoint", required=True,
                          help="a run's checkpoint.pt (or its folder), or a torchvision GoogLeNet state_dict file")
    evaluate.add_argument("--data-root", required=True, help="ROOT with ROOT/val/<class>/<image> (ImageNet layout)")
    evaluate.add_argument("--split", default="val", choices=("val", "test", "train"),
                          help="the folder to score ('test' reads val/, as ImageNet's test labels are not public)")
    evaluate.add_argument("--crops", type=int, default=1, choices=(1, 10, 144),
                          help="crops per image: the centre, ten (corners, centre, mirrors), or Section 7's 144")
    evaluate.add_argument("--reduce", default="mean", choices=("mean", "max"),
                          help="how the crops' softmax outputs are combined (the paper: mean)")
    evaluate.add_argument("--preset", default="reproduce", choices=("reproduce", "torchvision"),
                          help="what the checkpoint is")
    evaluate.add_argument("--weights", default="polyak", choices=("polyak", "raw"),
                          help="which weights of a reproduce run")
    evaluate.add_argument("--image-size", type=int, default=None,
                          help="crop side (default: the run's image size; 224 for torchvision weights)")
    evaluate.add_argument("--images-per-batch", type=int, default=None,
                          help="images whose crops are cut together (default: as many as the crop budget of "
                               "reproduce.evaluate.images_per_cut allows on the device)")
    evaluate.add_argument("--limit", type=int, default=None, help="score only the first N images")
    evaluate.add_argument("--max-unreadable", type=float, default=MAX_UNREADABLE_SHARE,
                          help="the largest share of the images that may be unreadable (each is skipped and named); "
                               "more stops the run")
    evaluate.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="where the models run")
    evaluate.add_argument("--num-workers", type=_num_workers, default="auto",
                          help="DataLoader processes decoding images ('auto': none on the CPU, one per core up to 8 "
                               "on CUDA)")
    evaluate.add_argument("--out", default=None, help="write the results (JSON) here")
    evaluate.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="a progress bar")
    crops = commands.add_parser(
        "score-test-split", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help="Table 3's crop probabilities of trained members on their configuration's test split, kept in a folder "
             "as they are computed; under torchrun the images are shared out over the processes, one per GPU")
    crops.add_argument("--member", action="append", required=True,
                       help="a member's run folder (repeat the flag for every member, in the ensemble's order)")
    crops.add_argument("--weights", default="polyak", choices=("polyak", "raw"), help="which weights of each member")
    crops.add_argument("--test-images", type=_count_or_all, default=None,
                       help="test images scored, evenly spaced ('all' or none given: all of them)")
    crops.add_argument("--many-crop-images", type=_count_or_all, default=None,
                       help="of these, the images (evenly spaced) also scored with more than 10 crops")
    crops.add_argument("--crops", type=int, nargs="+", default=[1, 10, 144], choices=(1, 10, 144),
                       help="the crop settings")
    crops.add_argument("--keep", required=True, help="the folder the probabilities are kept in (a rerun resumes)")
    book = commands.add_parser(
        "book", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help="execute every notebook with a parameter set into a run folder and build the book there")
    book.add_argument("--params", default=None, help="a parameter set (YAML: notebook -> {parameter: value}); "
                                                     "none: every notebook's defaults")
    book.add_argument("--out", default=None, help="the run folder (the book lands in OUT/_build/html); needed unless "
                                                  "--plan")
    book.add_argument("--jobs", type=int, default=None, help="notebooks executed at once (default: one per core)")
    book.add_argument("--build", action=argparse.BooleanOptionalAction, default=True, help="build the HTML")
    book.add_argument("--plan", action="store_true",
                      help="print what the set costs (images, multiply-adds, memory, hours here and on one H100) "
                           "and stop; a set that does not fit this machine's memory is refused by name")
    book.add_argument("--rehearse", action="store_true",
                      help="run the set on the CPU, scaled down (reproduce.book.rehearsal.SCALE), on data in its on-disk "
                           "formats generated into OUT/home, which stands in for ~")
    book.add_argument("--rehearse-device", default="cpu", choices=("cpu", "cuda"),
                      help="where a rehearsal runs (cuda: the device paths on a GPU, scaled down alike)")
    book.add_argument("--rehearse-processes", type=int, default=None,
                      help="processes a rehearsal runs each multi-GPU stage with (torchrun): default 2 on the CPU "
                           "(gloo), one per GPU with --rehearse-device cuda")
    return main


def _num_workers(value: str) -> str | int:
    """``--num-workers``: "auto" or a count of processes, at least 0."""
    if value == "auto":
        return value
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not 'auto' or a number of processes (0 or more)")
    return int(value)


def _count_or_all(value: str) -> Optional[int]:
    """``--test-images``: a number of images, or "all" (None)."""
    if value == "all":
        return None
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not 'all' or a number of images (1 or more)")
    return int(value)


def _score_test_split(args: dict) -> int:
    """``score-test-split``: every process loads the members onto its device and scores its share of the blocks of
    every crop setting into ``--keep`` (:func:`reproduce.evaluate.table3.score_test_split`)."""
    from .checkpoints import load_trained
    from .device import resolve_device
    from .evaluate.table3 import score_test_split
    from .training import distributed

    try:
        config = TrainConfig.from_dict(load_checkpoint(Path(args["member"][0]) / CHECKPOINT)["config"])
    except (OSError, ValueError) as error:
        print(f"python -m reproduce score-test-split: error: {error}", file=sys.stderr)
        return 2
    processes = distributed.start(resolve_device(config.device).type)
    try:
        device = resolve_device(config.device)  # under torchrun on CUDA: this process's GPU (distributed.start)
        models = [load_trained(folder, which=args["weights"], device=device)[0] for folder in args["member"]]
        score_test_split(models, config, test_images=args["test_images"], many_crop_images=args["many_crop_images"],
                         crop_counts=args["crops"], keep=args["keep"])
    finally:
        distributed.stop(processes)
    return 0


def _evaluate(args: dict) -> int:
    import json

    import torch

    from .data.transforms import test_resize_ratio
    from .evaluate.predict import default_num_workers
    from .evaluate.score import load_model, score_folder
    from .device import resolve_device

    try:
        model, info = load_model(args["checkpoint"], preset=args["preset"], which=args["weights"])
    except (FileNotFoundError, ValueError) as error:
        print(f"python -m reproduce evaluate: error: {error}", file=sys.stderr)
        return 2
    size = args["image_size"] or info["image_size"] or 224
    device = resolve_device(args["device"])
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # one crop size throughout: cuDNN's fastest algorithms are found once
    workers = default_num_workers(device) if args["num_workers"] == "auto" else args["num_workers"]
    try:
        result = score_folder(model, args["data_root"], split=args["split"], crops=args["crops"], size=size,
                              resize_ratio=test_resize_ratio(info["crop"]), reduce=args["reduce"],
                              images_per_batch=args["images_per_batch"], device=str(device), num_workers=workers,
                              limit=args["limit"], progress=args["progress"],
                              max_unreadable=args["max_unreadable"])
    except _real_errors() as error:
        print(f"python -m reproduce evaluate: error: {error}", file=sys.stderr)
        return 2
    if info["classes"] is not None and list(info["classes"]) != result["classes"]:
        print(f"warning: the class folders of {args['data_root']} are not the classes the model was trained on; "
              f"labels may not match", file=sys.stderr)
    result = {"checkpoint": str(args["checkpoint"]), "preset": args["preset"], "data_root": str(args["data_root"]),
              "split": args["split"], "device": str(device), "num_workers": workers, **result}
    count = result.get("unreadable_count", 0)
    skipped = f"; {count} unreadable images skipped" if count else ""
    print(f"top-1 error {result['top1_error']:.2%}, top-5 error {result['top5_error']:.2%} over {result['count']} "
          f"images, {args['crops']} crop(s) each ({result['seconds']:.0f} s){skipped}")
    if args["out"]:
        Path(args["out"]).expanduser().parent.mkdir(parents=True, exist_ok=True)
        Path(args["out"]).expanduser().write_text(json.dumps(result, indent=1))
    return 0


def _real_errors() -> tuple[type[Exception], ...]:
    from .data.real import DatasetNotFoundError, UnreadableImageError

    return DatasetNotFoundError, UnreadableImageError


def _given_flags(argv: Optional[Sequence[str]]) -> set[str]:
    """The TrainConfig fields set by a flag on the command line (not by a default)."""
    quiet = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    _add_config_flags(quiet, defaults=False)
    known, _ = quiet.parse_known_args(list(sys.argv[2:] if argv is None else argv[1:]))
    return set(vars(known))


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = vars(parser().parse_args(argv))
    command = args.pop("command")
    if command == "evaluate":
        return _evaluate(args)
    if command == "book":
        return _book(args)
    if command == "score-test-split":
        return _score_test_split(args)
    return _train(args, argv)


def _book(args: dict) -> int:
    from .book import plan, rehearsal, runner

    def error(message) -> int:
        print(f"python -m reproduce book: error: {message}", file=sys.stderr)
        return 2

    try:
        parameters = runner.load_parameters(args["params"])
    except (OSError, ValueError) as problem:
        return error(problem)
    if not args["out"] and (args["rehearse"] or not args["plan"]):
        return error("--out is required (the run folder), unless --plan")
    if args["rehearse"]:  # on the CPU and scaled down: what that costs is not what the plan is for
        summary = rehearsal.rehearse(args["out"], parameters, jobs=args["jobs"], build=args["build"],
                                     device=args["rehearse_device"], processes=args["rehearse_processes"])
    else:
        try:  # memory first, before any time is spent probing
            plan.check_feasible(plan.plan(parameters, timed=False))
        except plan.InfeasiblePlanError as problem:
            return error(problem)
        print(plan.formatted(plan.plan(parameters)), flush=True)
        if args["plan"]:
            return 0
        try:
            summary = runner.run(args["out"], parameters, jobs=args["jobs"], build=args["build"])
        except runner.NotebookFailedError as problem:
            print(f"python -m reproduce book: {problem}", file=sys.stderr)
            return 1
    for name, seconds in summary["notebooks"].items():
        print(f"{name}: {seconds / 60:.1f} min")
    print(f"executed in {summary['execute_seconds'] / 60:.1f} min ({summary['jobs']} at a time)" +
          (f"; the book is at {summary['html']}/index.html" if "html" in summary else ""))
    return 0


def _train(args: dict, argv: Optional[Sequence[str]]) -> int:
    from .training import train
    from .checkpoints import UnreadableCheckpointError
    from .training.loop import RunMismatchError, TrainingStopped

    out, resume, book = args.pop("out"), args.pop("resume"), args.pop("book")
    saved = Path(out) / CHECKPOINT
    # torchrun --max-restarts: after a process died, every process starts again with the same command line, and
    # continues the run from its last checkpoint (or starts it, when it died before the first one)
    restarted = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") or 0) > 0
    if restarted:
        resume = saved.exists()
    if resume and not saved.exists():  # a typo'd folder must not start a fresh run under the user's eyes
        print(f"python -m reproduce train: error: --resume: {out} holds no run to continue (no {CHECKPOINT} "
              f"there); check the folder, or leave out --resume to start a new run in it", file=sys.stderr)
        return 2
    try:
        if resume and saved.exists():  # the run's own options, with the flags given on this command line
            given = _given_flags(argv)
            values = {**load_checkpoint(saved)["config"], **{k: v for k, v in args.items() if k in given}}
            config = TrainConfig.from_dict(values)
        elif book:
            given = _given_flags(argv)
            config = book_config({k: v for k, v in args.items() if k in given})
        else:
            config = TrainConfig(**args)
    except ValueError as error:
        print(f"python -m reproduce train: error: {error}", file=sys.stderr)
        return 2
    try:
        result = train(config, out, resume=resume)
    except (RunMismatchError, FileExistsError, UnreadableCheckpointError) as error:
        print(f"python -m reproduce train: error: {error}", file=sys.stderr)
        return 2
    except TrainingStopped as stopped:  # SIGTERM or Ctrl-C: saved at the step reached
        print(f"python -m reproduce train: {stopped}", file=sys.stderr)
        return 128 + stopped.signal
    if result.history and os.environ.get("RANK", "0") == "0":  # under torchrun: the first process reports
        last = result.history[-1]
        print(f"done: val top-1 {last['val_top1']:.2%}" +
              (f", Polyak {last['polyak_val_top1']:.2%}" if "polyak_val_top1" in last else "") +
              f"; results in {out}")
    return 0
