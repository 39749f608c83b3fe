"""A mutation check of the unit tests (``make mutants``): would they notice a wrong reproduction?

Each mutant below is a one-line change that a careless edit could make to what the paper specifies (Sections 5-7 and
Table 1: the augmentation, the classifiers and their losses, the normalization, the optimizer and its schedule,
Polyak averaging, the test crops, the costs, top-k) or to what makes a run trustworthy (checkpoints, the processes of
a distributed run). For each one, in a copy of the working tree (never in this checkout), the unit tier
(``pytest tests -m "not slow"``) runs against the mutated package and stops at its first failure: the mutant is
*killed* when a test fails, and *survived* when every test passes, which means a test is missing.

A mutant is a pattern, not a line number, so that it survives refactoring: a file, an exact snippet (or a regular
expression) and its replacement. A pattern that no longer occurs exactly once in its file is reported as an error
(update the mutant), never skipped.

Before the mutants, two checks that the copy is what the tests import: the unmutated copy passes the whole unit tier
(which also gives each test file's duration), and a mutant that breaks the network outright is killed. To kill
quickly, each mutant runs first, in one process, the test files that name the mutated module (or, where none does,
its package), the one named after it first, then the fastest; a mutant those do not kill runs the remaining files on
every core, so that every unit test has run before it counts as survived. Two mutants are tested at a time, each in
its own copy: most of a killed mutant's seconds go to starting Python and collecting tests, one core's work.

    python tests/mutants.py            # every mutant: a table, the kill rate, the survivors
    python tests/mutants.py momentum   # the mutants whose name contains "momentum"
    python tests/mutants.py --list     # the mutants, without running anything
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_KILL_RATE = 0.95
UNIT_TIER = ["-m", "not slow", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "--no-header"]


@dataclass(frozen=True)
class Mutant:
    name: str  # what is wrong, in the paper's terms
    path: str  # the file, relative to the repository
    find: str  # an exact snippet, or with regex=True a regular expression (re.MULTILINE)
    replace: str  # the snippet's replacement (with regex=True, re.sub's: \g<1> is the first group)
    regex: bool = False

    def apply(self, text: str) -> str:
        """``text`` mutated; ValueError when the pattern does not occur exactly once."""
        if self.regex:
            count = len(re.findall(self.find, text, flags=re.MULTILINE))
        else:
            count = text.count(self.find)
        if count != 1:
            raise ValueError(f"{self.path}: the pattern {self.find!r} occurs {count} times, not once")
        if self.regex:
            return re.sub(self.find, self.replace, text, flags=re.MULTILINE)
        return text.replace(self.find, self.replace)


def config_default(field: str, value: str, mutated: str) -> Mutant:
    """A TrainConfig default changed: ``field``'s first number ``value`` (however the default is written) becomes
    ``mutated``."""
    return Mutant(f"TrainConfig.{field} = {mutated}, not {value}", "reproduce/training/config.py",
                  rf"(\b{field}: float = \D*){re.escape(value)}\b", rf"\g<1>{mutated}", regex=True)


MUTANTS = [
    # ---- Section 6: the data --------------------------------------------------------------------------------------
    Mutant("the smallest crop 20% of the area, not 8%", "reproduce/data/transforms.py",
           "CROP_SCALE = (0.08, 1.0)", "CROP_SCALE = (0.2, 1.0)"),
    Mutant("crop aspect ratio in [2/3, 3/2], not [3/4, 4/3]", "reproduce/data/transforms.py",
           "(3 / 4, 4 / 3)", "(2 / 3, 3 / 2)"),
    Mutant("photometric factors in [0.8, 1.2], not Howard's [0.5, 1.5]", "reproduce/data/transforms.py",
           "PHOTOMETRIC_STRENGTH = 0.5", "PHOTOMETRIC_STRENGTH = 0.2"),
    Mutant("no area resizing among the random interpolations", "reproduce/data/transforms.py",
           'INTERPOLATIONS = ("bilinear", "area", "nearest", "bicubic")',
           'INTERPOLATIONS = ("bilinear", "nearest", "bicubic")'),
    Mutant("vertical flips instead of mirror images", "reproduce/data/transforms.py",
           "v2.RandomHorizontalFlip()", "v2.RandomVerticalFlip()"),
    Mutant("training drops the random interpolation", "reproduce/training/config.py",
           "random_interpolation=self.random_interpolation", "random_interpolation=False"),
    # ---- Section 5 and Table 1: the network -----------------------------------------------------------------------
    Mutant("main dropout 20%, not 40% (the network's default)", "reproduce/models/googlenet.py",
           r"^DROPOUT = 0\.4\b", "DROPOUT = 0.2", regex=True),
    Mutant("TrainConfig's dropout its own 0.2, not the model's", "reproduce/training/config.py",
           "option(DROPOUT,", "option(0.2,"),
    Mutant("auxiliary dropout 0.4, not 0.7", "reproduce/models/blocks.py", "AUX_DROPOUT = 0.7", "AUX_DROPOUT = 0.4"),
    Mutant("auxiliary heads pool 5x5 with stride 2, not 3", "reproduce/models/blocks.py",
           "F.avg_pool2d(x, kernel_size=5, stride=3)", "F.avg_pool2d(x, kernel_size=5, stride=2)"),
    Mutant("no ReLU after the auxiliary heads' FC layer", "reproduce/models/blocks.py",
           "x = F.relu(x, inplace=True)", "x = x"),
    Mutant("the 5x5 branch is a 3x3", "reproduce/models/blocks.py",
           "ConvBlock(reduce, out, 5, padding=2, batch_norm=batch_norm)",
           "ConvBlock(reduce, out, 3, padding=1, batch_norm=batch_norm)"),
    Mutant("inception 4c with 128 pool projections, not 64", "reproduce/models/googlenet.py",
           r"(inception4c = inception\(128, 128, 256, 24, 64, )64\)", r"\g<1>128)", regex=True),
    Mutant("LRN alpha 1e-3, not 1e-4", "reproduce/models/googlenet.py", "alpha=1e-4", "alpha=1e-3"),
    Mutant("the first LRN left out of the forward pass", "reproduce/models/googlenet.py",
           "x = self.lrn1(self.maxpool1(x))", "x = self.maxpool1(x)"),
    Mutant("max pooling, not average pooling, before the classifier", "reproduce/models/googlenet.py",
           "nn.AdaptiveAvgPool2d(1)", "nn.AdaptiveMaxPool2d(1)"),
    Mutant("Table 1 costs counted in FLOPs, not multiply-adds", "reproduce/analysis/costs.py",
           "sum(flops.values()) // 2", "sum(flops.values())"),
    Mutant("Table 1 transcribed with 98M ops for 4b, not 88M", "reproduce/paper.py",
           '"437K", "88M"', '"437K", "98M"'),
    # ---- Sections 5 and 6: the loss, the optimizer, the schedule, Polyak averaging ---------------------------------
    config_default("aux_weight", "0.3", "1.0"),
    Mutant("only the first auxiliary loss counts", "reproduce/training/loop.py",
           'aux_weight * (parts["aux1"] + parts["aux2"])', 'aux_weight * parts["aux1"]'),
    config_default("label_smoothing", "0.0", "0.1"),
    config_default("momentum", "0.9", "0.0"),
    Mutant("the learning rate down 10%, not 4%", "reproduce/training/schedule.py", "PAPER_GAMMA = 0.96",
           "PAPER_GAMMA = 0.9"),
    Mutant("the learning rate down every 4 epochs, not 8", "reproduce/training/schedule.py",
           "PAPER_STEP_EPOCHS = 8.0", "PAPER_STEP_EPOCHS = 4.0"),
    Mutant("the schedule's step counted in epochs, not iterations", "reproduce/training/schedule.py",
           "round(step_epochs * steps_per_epoch)", "round(step_epochs)"),
    Mutant("the learning rate never decays (scheduler not stepped)", "reproduce/training/loop.py",
           "scheduler.step()", "pass"),
    Mutant("Polyak EMA moves by decay, not 1 - decay", "reproduce/training/polyak.py",
           "torch._foreach_lerp_(into, source, 1 - self.decay)", "torch._foreach_lerp_(into, source, self.decay)"),
    Mutant("Polyak time constant counted in steps, not epochs", "reproduce/training/loop.py",
           "max(1.0, polyak_epochs * steps_per_epoch)", "max(1.0, polyak_epochs)"),
    config_default("polyak_epochs", "1.0", "2.0"),
    Mutant("the Polyak metrics scored on the raw weights", "reproduce/training/loop.py",
           '"polyak_": averaged.module if averaged is not None else None',
           '"polyak_": model if averaged is not None else None'),
    Mutant("ensemble members do not share the initialization", "reproduce/training/loop.py",
           'return values["seed"] if values.get("init_seed") is None else values["init_seed"]',
           'return values["seed"]'),
    # ---- Section 7: the crops, their pooling, top-k ----------------------------------------------------------------
    Mutant("test scales 224-320, not 256-352", "reproduce/data/transforms.py",
           "PAPER_SCALES = (256, 288, 320, 352)", "PAPER_SCALES = (224, 256, 288, 320)"),
    Mutant("the 'whole square' crop is its top-left corner", "reproduce/evaluate/crops.py",
           "x, y, x + shorter, y + shorter)", "x, y, x + crop, y + crop)"),
    Mutant("the centre square a third of the way along, not half", "reproduce/evaluate/crops.py",
           "(0, (longer - shorter) // 2, longer - shorter)", "(0, (longer - shorter) // 3, longer - shorter)"),
    Mutant("the mirrored crops flipped upside down", "reproduce/evaluate/crops.py",
           "mirror = resized.flip(-1)", "mirror = resized.flip(-2)"),
    Mutant("crops pooled by their max, not their mean", "reproduce/evaluate/predict.py",
           "mean[:, start:start + len(cut)] = probabilities.mean(2)",
           "mean[:, start:start + len(cut)] = probabilities.amax(2)"),
    Mutant("logits averaged, not softmax probabilities", "reproduce/evaluate/predict.py",
           "torch.cat(logits, 1).softmax(-1)", "torch.cat(logits, 1)"),
    Mutant("the ensemble takes its members' max, not their mean", "reproduce/evaluate/predict.py",
           "return probabilities.reduced(reduce).mean(0)", "return probabilities.reduced(reduce).amax(0)"),
    Mutant("top-5 computed as top-4", "reproduce/metrics.py",
           "largest = min(max(ks), scores.shape[1])", "largest = min(max(ks) - 1, scores.shape[1])"),
    Mutant("training logs top-1 as its top-5", "reproduce/training/loop.py",
           "hits[5].sum().double()", "hits[1].sum().double()"),
    # ---- checkpoints ------------------------------------------------------------------------------------------------
    Mutant("a checkpoint written in place, not beside it and renamed", "reproduce/checkpoints.py",
           'tmp = path.with_name(f".{path.name}.tmp")', "tmp = path"),
    Mutant("a checkpoint unpickled without weights_only", "reproduce/checkpoints.py",
           'torch.load(path, map_location="cpu", weights_only=True)',
           'torch.load(path, map_location="cpu", weights_only=False)'),
    Mutant("a resumed run repeats its last epoch", "reproduce/training/loop.py",
           'state["epoch"] + 1', 'state["epoch"]'),
    # ---- distributed runs --------------------------------------------------------------------------------------------
    Mutant("all-reduce takes the max, not the sum", "reproduce/training/distributed.py",
           "op=dist.ReduceOp.SUM", "op=dist.ReduceOp.MAX"),
    Mutant("every process believes it is the first", "reproduce/training/distributed.py",
           'Processes(int(os.environ["RANK"]), world_size', "Processes(0, world_size"),
    Mutant("losses averaged over one process's steps only", "reproduce/training/loop.py",
           "count * processes.world_size", "count"),
    Mutant("the train split is not reshuffled", "reproduce/training/loop.py", "shuffle=True", "shuffle=False"),
    Mutant("every process trains on the first process's share", "reproduce/training/loop.py",
           "rank=processes.rank, shuffle=True", "rank=0, shuffle=True"),
    Mutant("every process validates the first process's share", "reproduce/training/loop.py",
           "range(processes.rank, len(eval_set), processes.world_size)",
           "range(0, len(eval_set), processes.world_size)"),
    Mutant("torchrun starts one process, whatever was asked", "reproduce/training/launch.py",
           'f"--nproc_per_node={processes}"', '"--nproc_per_node=1"'),
    Mutant("one process however many GPUs", "reproduce/training/launch.py",
           "return max(torch.cuda.device_count(), 1)", "return 1"),
]

#: Breaks every network: the unit tier must kill it, or the tests do not import the mutated copy.
CONTROL = Mutant("control: googlenet() raises", "reproduce/models/googlenet.py",
                 "return GoogLeNet(num_classes, **options)", 'raise RuntimeError("control mutant")')


@dataclass
class Outcome:
    mutant: Mutant
    verdict: str  # "killed", "survived", "timeout" (counted as killed) or "error"
    seconds: float
    detail: str = ""  # the failing test, or what went wrong


def copy_tree(destination: Path) -> None:
    """The working tree's files that git tracks or would track (what is not ignored), as they are now."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():  # (a tracked file deleted in the working tree is left out)
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


class Copy:
    """A copy of the working tree, its unit test files, and how long each took unmutated."""

    def __init__(self, folder: Path, workers: int):
        self.folder, self.workers = folder, workers
        self.env = {**os.environ, "PYTHONPATH": str(folder), "OMP_NUM_THREADS": "1",
                    "PYTHONDONTWRITEBYTECODE": "1"}
        self.env.pop("REPRODUCE_PROCESSES", None)
        self.files: list[str] = []  # the test files with unit tests (after the baseline)
        self.durations: dict[str, float] = {}
        self.left_out: list[str] = []  # tests that fail unmutated, left out of every run (--leave-out-failing)

    def clone(self, folder: Path) -> "Copy":
        """Another copy, made from this one once its baseline has run (its compiled modules and test files too)."""
        shutil.copytree(self.folder, folder, symlinks=True, dirs_exist_ok=True)  # modification times kept
        other = Copy(folder, self.workers)
        other.files, other.durations, other.left_out = self.files, self.durations, self.left_out
        return other

    def imported_package(self) -> Path:
        out = subprocess.run([sys.executable, "-c", "import reproduce; print(reproduce.__file__)"], cwd=self.folder,
                             env=self.env, check=True, capture_output=True, text=True).stdout
        return Path(out.strip()).resolve()

    def pytest(self, files: list[str], *, parallel: bool, timeout: float, extra: tuple[str, ...] = ("-x",),
               env: dict | None = None) -> tuple[str, str]:
        """Run the unit tier on ``files`` (by default up to its first failure): ("passed" | "failed" | "timeout" |
        "error", the failures or what went wrong)."""
        left_out = [option for test in self.left_out for option in ("--deselect", test)]
        command = [sys.executable, "-m", "pytest", *UNIT_TIER, *extra, *left_out, *files]
        if parallel and self.workers > 1 and len(files) > 1:
            command[3:3] = ["-n", str(self.workers), "--dist", "loadfile"]
        process = subprocess.Popen(command, cwd=self.folder, env=env or self.env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # pytest and its workers: the session it leads
            process.communicate()
            return "timeout", f"over {timeout:.0f} s"
        if process.returncode == 0:
            return "passed", output
        if process.returncode in (1, 2):  # a test failed, or collecting one did (an import the mutant broke)
            failed = [line for line in output.splitlines() if line.startswith(("FAILED ", "ERROR "))]
            return "failed", ("\n".join(failed) if failed else output.strip().splitlines()[-1])
        return "error", f"pytest exited with {process.returncode}: {output.strip()[-2000:]}"

    def baseline(self, timeout: float) -> tuple[str, str]:
        """The whole unit tier on the unmutated copy, every test; records each file's seconds."""
        self.files = sorted(str(p.relative_to(self.folder)) for p in (self.folder / "tests").glob("test_*.py"))
        report = self.folder / ".baseline.xml"
        env = {**self.env}
        env.pop("PYTHONDONTWRITEBYTECODE")  # compiled once here, reused by every mutant's run
        status, detail = self.pytest(self.files, parallel=True, timeout=timeout, extra=(f"--junitxml={report}",),
                                     env=env)
        if status in ("passed", "failed"):
            for case in ElementTree.parse(report).iter("testcase"):
                module = case.get("classname", "").split(".")
                name = "/".join(module[:2]) + ".py"
                self.durations[name] = self.durations.get(name, 0.0) + float(case.get("time", 0))
            self.files = [name for name in self.files if name in self.durations]  # files with unit tests only
        return status, detail

    def first_files(self, mutant: Mutant) -> list[str]:
        """The test files that name the mutated module (or, where none does, its package), the one named after it
        first, then the fastest."""
        path = Path(mutant.path)
        for name in (path.stem, path.parent.name):
            naming = [test for test in self.files
                      if re.search(rf"\b{re.escape(name)}\b", (self.folder / test).read_text())]
            if naming:
                return sorted(naming, key=lambda test: (not Path(test).stem.startswith(f"test_{name.rstrip('s')}"),
                                                        self.durations.get(test, 0)))
        return []

    def run(self, mutant: Mutant, timeout: float) -> Outcome:
        path = self.folder / mutant.path
        original, stat = path.read_text(), path.stat()
        started = time.perf_counter()
        try:
            mutated = mutant.apply(original)
        except (ValueError, re.error) as error:
            return Outcome(mutant, "error", 0.0, str(error))
        path.write_text(mutated)
        try:
            first = self.first_files(mutant)
            rest = sorted((name for name in self.files if name not in first), key=lambda n: self.durations.get(n, 0))
            status, detail = "passed", ""
            for files, parallel in ((first, False), (rest, True)):
                if files and status == "passed":
                    left = timeout - (time.perf_counter() - started)
                    status, detail = self.pytest(files, parallel=parallel, timeout=max(left, 1.0))
        finally:
            path.write_text(original)
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the baseline's compiled module fits again
        seconds = time.perf_counter() - started
        verdict = {"passed": "survived", "failed": "killed", "timeout": "timeout", "error": "error"}[status]
        return Outcome(mutant, verdict, seconds, "" if status == "passed" else detail)


def run_all(mutants: list[Mutant], copies: list[Copy], timeout: float) -> list[Outcome]:
    """Every mutant's outcome, in order, ``len(copies)`` mutants at a time (each in a copy no other uses meanwhile),
    each printed as it comes."""
    free: queue.Queue[Copy] = queue.Queue()
    for copy in copies:
        free.put(copy)
    done = []

    def test(mutant: Mutant) -> Outcome:
        copy = free.get()
        try:
            outcome = copy.run(mutant, timeout)
        finally:
            free.put(copy)
        done.append(outcome)
        print(f"[{len(done)}/{len(mutants)}] {outcome.verdict:<8} {outcome.seconds:6.1f} s  {mutant.name}", flush=True)
        return outcome

    with ThreadPoolExecutor(max_workers=len(copies)) as pool:
        return list(pool.map(test, mutants))


def table(outcomes: list[Outcome]) -> str:
    width = max(len(o.mutant.name) for o in outcomes)
    lines = [f"{'mutant':<{width}}  {'file':<34}  {'verdict':<8}  {'seconds':>7}  killed by / why",
             f"{'-' * width}  {'-' * 34}  {'-' * 8}  {'-' * 7}  {'-' * 15}"]
    for o in outcomes:
        detail = o.detail.splitlines()[0].removeprefix("FAILED ").removeprefix("ERROR ") if o.detail else ""
        lines.append(f"{o.mutant.name:<{width}}  {o.mutant.path:<34}  {o.verdict:<8}  {o.seconds:7.1f}  "
                     f"{detail[:110] if o.verdict != 'survived' else ''}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="run only the mutants whose name contains one of these")
    parser.add_argument("--list", action="store_true", help="list the mutants and check their patterns, run nothing")
    parser.add_argument("--jobs", type=lambda value: max(1, int(value)), default=min(2, cores),
                        help="mutants tested at once, each in its own copy (default: 2, or 1 on one core)")
    parser.add_argument("--workers", type=int, default=cores, help="pytest-xdist workers of the whole-tier runs")
    parser.add_argument("--leave-out-failing", action="store_true",
                        help="leave out (and name) the unit tests that fail unmutated, instead of stopping")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if not args.names or any(n.lower() in m.name.lower() for n in args.names)]
    if args.list:
        for mutant in chosen:
            try:
                mutant.apply((ROOT / mutant.path).read_text())
                state = "ok"
            except (ValueError, re.error, OSError) as error:
                state = f"ERROR: {error}"
            print(f"{mutant.name:<60} {mutant.path:<34} {state}")
        return 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mutants-") as folder:
        work = Copy(Path(folder) / "0", args.workers)
        print(f"copying the working tree to {work.folder}", flush=True)
        copy_tree(work.folder)
        package = work.imported_package()
        if work.folder.resolve() not in package.parents:
            print(f"the copy's tests would import {package}, not the copy's package: stopped", file=sys.stderr)
            return 2
        print(f"the unit tier on the unmutated copy ({args.workers} workers) ...", flush=True)
        status, detail = work.baseline(timeout=1800)
        if status == "failed" and args.leave_out_failing:
            work.left_out = [line.split()[1] for line in detail.splitlines() if line.startswith(("FAILED", "ERROR"))]
            print(f"  {len(work.left_out)} tests fail unmutated and are left out: {', '.join(work.left_out)}")
        elif status != "passed":
            print(f"the unmutated copy does not pass the unit tier ({status}; --leave-out-failing runs without the "
                  f"tests that fail):\n{detail}", file=sys.stderr)
            return 2
        # a mutant that makes a test hang counts as killed; the limit allows for the mutants tested beside it
        timeout = 3 * sum(work.durations.values()) + 120
        print(f"  done ({time.perf_counter() - started:.0f} s); each mutant's time limit: {timeout:.0f} s", flush=True)
        control = work.run(CONTROL, timeout)
        if control.verdict != "killed":
            print(f"the control mutant was not killed ({control.verdict}: {control.detail}): the tests do not "
                  f"import the mutated copy; stopped", file=sys.stderr)
            return 2
        print(f"  the control mutant was killed ({control.seconds:.0f} s); {len(chosen)} mutants, {args.jobs} at a "
              f"time\n", flush=True)
        outcomes = run_all(chosen, [work, *(work.clone(Path(folder) / str(i)) for i in range(1, args.jobs))], timeout)
    counted = [o for o in outcomes if o.verdict != "error"]
    killed = [o for o in counted if o.verdict in ("killed", "timeout")]
    survivors = [o for o in counted if o.verdict == "survived"]
    errors = [o for o in outcomes if o.verdict == "error"]
    rate = len(killed) / len(counted) if counted else 0.0
    print("\n" + table(outcomes) + "\n")
    print(f"{len(killed)} of {len(counted)} mutants killed: {rate:.1%} (target {TARGET_KILL_RATE:.0%}); "
          f"{len(errors)} errors; {time.perf_counter() - started:.0f} s in all")
    for o in survivors:
        print(f"survived: {o.mutant.name} ({o.mutant.path}: {o.mutant.find!r} -> {o.mutant.replace!r})")
    for o in errors:
        print(f"error: {o.mutant.name}: {o.detail}")
    if work.left_out:
        print(f"left out, failing unmutated: {', '.join(work.left_out)}")
    return 0 if rate >= TARGET_KILL_RATE and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
