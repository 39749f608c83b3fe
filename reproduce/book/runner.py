"""The whole book, executed with one parameter set into its own run folder, then built from those notebooks.

``python -m reproduce book --params params/cpu.yml --out runs/book-cpu`` copies the book's sources into the run
folder, executes every notebook there with papermill (its own parameters from the parameter file, the notebook's
defaults for the rest), several at a time, and builds the HTML from the executed notebooks
(``RUN/_build/html``). Next to each executed notebook, ``RUN/results/<notebook>.json`` records its parameters, the
git commit, the device, the library versions and the wall time.

Notebooks run in parallel, ``jobs`` at a time (default: one per CPU core) with ``cpu_count // jobs`` threads each:
on a CPU, single-threaded notebooks side by side do more work than one notebook with every thread. On a machine with
GPUs the notebooks that use the device (those with a ``config`` whose device is not ``"cpu"``) run one at a time,
each training on every GPU (:mod:`reproduce.training.launch`), so that no two share a GPU and every throughput they
print is the devices' own; the others fill in beside them.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import types
import typing
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any, Optional

from .notebooks import BY_NAME, NOTEBOOKS, named, run_order

ROOT = Path(__file__).resolve().parents[2]
#: What a book build reads: the configuration, the pages, the notebooks, the parameter sets (the report lists them),
#: the package (pages include its source) and the benchmarks with their committed results (the Performance appendix
#: shows them).
SOURCES = ("_config.yml", "_toc.yml", "_static", "benchmarks", "book", "notebooks", "params", "reproduce")


def load_parameters(path: str | Path | None) -> dict[str, dict[str, Any]]:
    """A parameter set: ``{notebook file name: {parameter: value}}`` from a YAML file (None: every notebook's
    defaults). Names of notebooks that do not exist, and parameters a notebook does not have, are refused."""
    import papermill
    import yaml

    if path is None:
        return {}
    values = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
        raise ValueError(f"{path}: a parameter set maps notebook file names to {{parameter: value}} mappings")
    values = {name: copy.deepcopy(given) for name, given in values.items()}  # each its own copy of a YAML alias
    unknown = sorted(name for name in values if name.removesuffix(".ipynb") not in BY_NAME or
                     not name.endswith(".ipynb"))
    if unknown:
        raise ValueError(f"{path}: no notebooks named {unknown}; the book's notebooks are "
                         f"{[n.file for n in NOTEBOOKS]}")
    for name, given in values.items():
        known = papermill.inspect_notebook(ROOT / "notebooks" / name)
        if set(given) - set(known):
            raise ValueError(f"{path}: {name} has no parameters {sorted(set(given) - set(known))}; "
                             f"its parameters are {sorted(known)}")
        problem = bad_value(name, given)
        if problem:
            raise ValueError(f"{path}: {problem}")
    return values


def _is_a(value: Any, kind: Any) -> bool:
    """Whether ``value`` (from YAML) is of the type ``kind``: a class, ``Optional[...]``/``X | None``, ``list[...]``,
    ``tuple[...]`` or ``dict[...]``; an int is a float, a bool is neither."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        return any(_is_a(value, arg) for arg in args)
    if kind is type(None):
        return value is None
    if origin is not None:
        return isinstance(value, (list, tuple) if origin in (list, tuple) else origin)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return kind is Any or isinstance(value, kind)


def _describe(kind: Any) -> str:
    """``int`` -> "an integer", ``Optional[int]`` -> "an integer or None", ``list[float]`` -> "a list"."""
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args) + (" or None" if type(None) in typing.get_args(kind) else "")
    names = {int: "an integer", float: "a number", bool: "true or false", str: "a string", list: "a list",
             dict: "a mapping"}
    return names.get(typing.get_origin(kind) or kind, f"a {getattr(kind, '__name__', kind)}")


def bad_value(notebook: str, given: dict[str, Any]) -> Optional[str]:
    """What is wrong with a notebook's parameter values, before anything runs (None: nothing). A parameter must have
    its default's type (an integer for an integer, a number for a float, a list for a list; anything where the default
    is None), or be None where the parameter's comment says what None means. ``config``, what a notebook's runs change
    of the book's :class:`~reproduce.training.TrainConfig`, must name its fields with values of their types that make
    a valid configuration (its choices and ranges)."""
    import papermill

    defaults = notebook_defaults(notebook)
    helps = {key: info["help"] for key, info in papermill.inspect_notebook(ROOT / "notebooks" / notebook).items()}
    for key, value in given.items():
        if value is None and "None" in helps.get(key, ""):  # the parameter's comment says what None means
            continue
        expected = None if defaults.get(key) is None else type(defaults[key])
        problem = _not_a(value, list if expected is tuple else expected, defaults.get(key))
        if problem:
            return f"{notebook}: {key}={value!r} {problem}"
    if "config" in given:
        problem = bad_config(given["config"])
        if problem:
            return f"{notebook}: config: {problem}"
    return None


def missing_device(parameters: dict[str, dict[str, Any]]) -> Optional[str]:
    """Which notebooks of a parameter set name a device this machine does not have (None: none), said before anything
    runs: a set for GPUs names ``device: cuda``, so that without one it stops here instead of training on the CPU for
    days or failing hours in, at the first notebook that trains."""
    from ..device import resolve_device
    from ..training.config import book_config

    wanting = [name for name, given in parameters.items() if "config" in given
               and book_config(given["config"]).device == "cuda"]
    if not wanting:
        return None
    try:
        resolve_device("cuda")
    except RuntimeError:
        return (f"{', '.join(wanting)} name device 'cuda', and torch sees no CUDA device on this machine; run them "
                f"where there is one, or rehearse the set here (--rehearse)")
    return None


def bad_config(changes: Any) -> Optional[str]:
    """What is wrong with ``changes`` to the book's TrainConfig (a notebook's ``config``; None: nothing): a name that
    is not a field, a value not of its field's type, or values that make no valid configuration."""
    import dataclasses

    from ..training.config import TrainConfig, book_config

    if not isinstance(changes, dict):
        return f"{changes!r} is not a mapping of TrainConfig fields to values"
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    if set(changes) - fields:
        return f"TrainConfig has no fields {sorted(set(changes) - fields)}; its fields are {sorted(fields)}"
    hints = typing.get_type_hints(TrainConfig)
    for key, value in changes.items():
        problem = _not_a(value, hints[key], getattr(TrainConfig(), key))
        if problem:
            return f"{key}={value!r} {problem}"
    try:
        book_config(changes)
    except (ValueError, TypeError) as error:
        return str(error)
    return None


def _not_a(value: Any, expected: Any, default: Any) -> Optional[str]:
    """"is not a number (the default is 0.05)" where ``value`` is not of the type ``expected`` (None: any type);
    None where it is."""
    if expected is None or _is_a(value, expected):
        return None
    hint = ""
    if isinstance(value, str) and _is_a(0.5, expected):
        try:
            hint = f"; YAML reads {value} as text: write it with a decimal point, as {float(value)!r}"
        except ValueError:
            pass
    return f"is not {_describe(expected)} (the default is {default!r}){hint}"


def notebook_defaults(name: str) -> dict[str, Any]:
    """The values of a notebook's parameters cell (``name``: ``training.ipynb``), by parameter name."""
    import papermill

    return {key: ast.literal_eval(info["default"])
            for key, info in papermill.inspect_notebook(ROOT / "notebooks" / name).items()}


def waits_for(notebook: str, parameters: dict[str, Any]) -> tuple[str, ...]:
    """The notebooks (stems) whose output ``notebook`` (a stem) reads when run with ``parameters``: the branch
    attribution waits for the Evaluation chapter only when it reloads that chapter's members, never when it analyses
    torchvision's weights (on ImageNet the ensemble takes days and the attribution needs none of it)."""
    if notebook == "branches":
        reloads = parameters.get("ensemble_dir") and not parameters.get("torchvision_weights")
        return named(notebook).reads if reloads else ()
    return named(notebook).reads


def uses_device(notebook: Path, parameters: dict[str, Any]) -> bool:
    """Whether ``notebook`` runs its work on the accelerator: it trains or scores networks (it has a ``config``
    parameter) on a device not set to ``"cpu"``."""
    from ..training.config import book_config

    return "config" in notebook_defaults(notebook.name) and book_config(parameters.get("config")).device != "cpu"


def _device_slots() -> Optional[int]:
    """How many device notebooks may run at once: one, which trains on every GPU; None (no limit) without a GPU."""
    import torch

    return 1 if torch.cuda.is_available() else None


def _environment() -> dict[str, Any]:
    """What the runner records beside every notebook: the commit, the machine and its device (the first GPU, or the
    CPU)."""
    import torch

    from ..provenance import device_name, git_commit, machine

    description = machine("cuda" if torch.cuda.is_available() else "cpu")
    return {"git_commit": git_commit(), "python": description["python"], "torch": description["torch"],
            "torchvision": description["torchvision"], "platform": platform.platform(),
            "device": device_name(description)}


class NotebookFailedError(RuntimeError):
    """A notebook stopped with an error (its message names the cell and the exception); or, raised by the runner,
    some notebooks did."""


def _execute(notebook: Path, parameters: dict[str, Any]) -> float:
    """Execute ``notebook`` in place with ``parameters``; its wall time. A cell that raises ends it with
    :class:`NotebookFailedError` naming the cell and the exception (the executed copy, with the error in its cell,
    is what papermill leaves at ``notebook``)."""
    import papermill

    started = time.perf_counter()
    try:
        papermill.execute_notebook(notebook, notebook, parameters=parameters, cwd=notebook.parent,
                                   progress_bar=False, kernel_name="python3",
                                   # the kernel talks to this process over the loopback only: its warning that TCP
                                   # is not encrypted, twice per notebook, would drown the runner's progress
                                   extra_arguments=["--IPKernelApp.log_level=ERROR"])
    except papermill.PapermillExecutionError as error:  # not passed on as it is: it does not survive a process pool
        raise NotebookFailedError(f"cell {error.cell_index} (execution count {error.exec_count}) raised "
                                  f"{error.ename}: {error.evalue}") from None
    return time.perf_counter() - started


def glued_values(notebook: str | Path) -> dict[str, str]:
    """The text of every value an executed notebook glued (``myst_nb.glue``), by name; figures, tables and anything
    else with a richer form than plain text are left out."""
    import nbformat

    values = {}
    for cell in nbformat.read(notebook, as_version=4).cells:
        for output in cell.get("outputs", []):
            record = output.get("metadata", {}).get("scrapbook")
            if not record:
                continue
            data = output["data"]
            if {key.removeprefix(record["mime_prefix"]) for key in data} != {"text/plain"}:
                continue
            text = data.get(record["mime_prefix"] + "text/plain", "")
            try:  # a glued string is stored as its repr
                value = ast.literal_eval(text)
                values[record["name"]] = value if isinstance(value, str) else text
            except (ValueError, SyntaxError):
                values[record["name"]] = text
    return values


def read_results(results: str | Path) -> dict[str, dict[str, Any]]:
    """The results files of a run (``RUN/results``), by notebook name without ``.ipynb``; {} where there are none."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(Path(results).glob("*.json"))
            if path.name != "run.json"}


CACHE = ".cache"
#: How often the runner says where it is while notebooks execute.
PROGRESS_SECONDS = 60
#: Where the executed copy of a notebook that failed is kept (RUN/failed/<notebook>), until the next run.
FAILED = "failed"


def package_digest() -> str:
    """A digest of the package's source (every ``reproduce/**/*.py``, by path and content): what every notebook's
    execution depends on besides its own source and parameters."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "reproduce").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def inputs_of(notebook: str, parameters: dict[str, Any], stems: set[str]) -> tuple[str, ...]:
    """The notebooks (stems, of ``stems``) whose outputs ``notebook`` reads: those it waits for
    (:func:`waits_for`) and, for a notebook registered ``last``, every other one."""
    if named(notebook).last:
        return tuple(sorted(s for s in stems if not named(s).last))
    return tuple(d for d in waits_for(notebook, parameters) if d in stems)


def cache_key(notebook: Path, parameters: dict[str, Any], package: str, upstream: dict[str, str]) -> str:
    """What an execution of ``notebook`` depends on: its source, its parameters, the package's digest, the
    threads it runs with and the cache keys of the notebooks it reads (``upstream``, by stem)."""
    record = {"notebook": notebook.read_text(), "parameters": parameters, "package": package,
              "threads": os.environ.get("OMP_NUM_THREADS"), "upstream": upstream}
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()


def _restore(notebook: Path, key: str) -> Optional[dict[str, Any]]:
    """The results of a cached execution of ``notebook`` with ``key``, its executed copy put back in place; None
    when there is none."""
    cached = notebook.parent.parent / CACHE / f"{notebook.stem}-{key}"
    if not (cached / "notebook.json").is_file() or not (cached / "results.json").is_file():
        return None
    shutil.copy2(cached / "notebook.json", notebook)  # not named .ipynb: the book's build would find it
    return json.loads((cached / "results.json").read_text())


def _keep(notebook: Path, key: str) -> None:
    """Keep the executed ``notebook`` and its results for :func:`_restore`, replacing older executions of it."""
    cache = notebook.parent.parent / CACHE
    for old in cache.glob(f"{notebook.stem}-*"):
        shutil.rmtree(old)
    cached = cache / f"{notebook.stem}-{key}"
    cached.mkdir(parents=True)
    shutil.copy2(notebook, cached / "notebook.json")
    shutil.copy2(notebook.parent.parent / "results" / f"{notebook.stem}.json", cached / "results.json")


def last_seconds(notebooks: list[Path]) -> dict[str, float]:
    """How long each notebook's last execution here took (its kept results, whatever their cache key), by name; a
    notebook never executed here is left out."""
    seconds = {}
    for notebook in notebooks:
        for kept in (notebook.parent.parent / CACHE).glob(f"{notebook.stem}-*/results.json"):
            seconds[notebook.name] = json.loads(kept.read_text())["seconds"]
    return seconds


class Progress:
    """What the runner prints while notebooks execute: elapsed time and, from the notebooks' last executions here
    (:func:`last_seconds`), about how long is left with ``jobs`` at a time."""

    def __init__(self, notebooks: list[Path], jobs: int):
        self.last, self.jobs = last_seconds(notebooks), jobs
        self.started_at = time.perf_counter()
        self.started: dict[str, float] = {}

    def start(self, notebook: Path) -> None:
        self.started[notebook.name] = time.perf_counter()

    def left(self, waiting: list[Path], running: list[Path]) -> Optional[float]:
        """Seconds of work left, shared among the jobs: the waiting notebooks' last times and what the running ones
        have not yet used of theirs; None when a notebook has no earlier time."""
        names = [n.name for n in waiting + running]
        if any(name not in self.last for name in names):
            return None
        now = time.perf_counter()
        work = sum(self.last[n.name] for n in waiting)
        work += sum(max(0.0, self.last[n.name] - (now - self.started.get(n.name, now))) for n in running)
        return work / max(1, min(self.jobs, len(names)))

    def line(self, waiting: list[Path], running: list[Path]) -> str:
        """``"3.2 min elapsed, about 4 min left; running: evaluation.ipynb (2.1 min)"``."""
        now = time.perf_counter()
        left = self.left(waiting, running)
        text = f"{(now - self.started_at) / 60:.1f} min elapsed"
        text += ", time left unknown (a notebook with no earlier execution here)" if left is None else \
            f", about {left / 60:.1f} min left"
        if running:
            text += "; running: " + ", ".join(f"{n.name} ({(now - self.started[n.name]) / 60:.1f} min)"
                                              for n in running if n.name in self.started)
        return text


def cache_keys(notebooks: list[Path], parameters: dict[str, dict[str, Any]]) -> dict[str, str]:
    """:func:`cache_key` of every notebook (by stem), the notebooks it reads keyed first."""
    package, stems, keys = package_digest(), {n.stem for n in notebooks}, {}
    while len(keys) < len(notebooks):
        ready = [n for n in notebooks if n.stem not in keys and
                 all(d in keys for d in inputs_of(n.stem, parameters.get(n.name, {}), stems))]
        if not ready:
            raise RuntimeError("the notebooks read each other's results in a cycle (see reproduce.book.notebooks)")
        for n in ready:
            upstream = {d: keys[d] for d in inputs_of(n.stem, parameters.get(n.name, {}), stems)}
            keys[n.stem] = cache_key(n, parameters.get(n.name, {}), package, upstream)
    return keys


def _stage(notebooks: list[Path], parameters: dict[str, dict[str, Any]], jobs: int,
           environment: dict[str, Any], keys: dict[str, str]) -> dict[str, float]:
    """Execute ``notebooks`` ``jobs`` at a time, each as soon as a worker is free and the notebooks whose output it
    reads (:func:`waits_for`) have finished, in the order given; record each one's results when it ends. A notebook
    with an execution of the same cache key (``keys``) is restored instead, and takes no time."""
    seconds: dict[str, float] = {}
    failed: dict[str, str] = {}  # notebook name -> what went wrong
    for notebook in list(notebooks):
        record = _restore(notebook, keys[notebook.stem])
        if record is not None:
            (notebook.parent.parent / "results").mkdir(exist_ok=True)
            (notebook.parent.parent / "results" / f"{notebook.stem}.json").write_text(
                json.dumps({**record, "cached": True}, indent=1))
            print(f"{notebook.name}: unchanged since its last execution here, restored", flush=True)
            seconds[notebook.name] = 0.0
    waiting, running = [n for n in notebooks if n.name not in seconds], {}
    stems = {n.stem for n in notebooks}
    slots = _device_slots()
    on_device = {n: uses_device(n, parameters.get(n.name, {})) for n in notebooks}
    progress = Progress(waiting, jobs)
    with ProcessPoolExecutor(jobs) as pool:
        while waiting or running:
            for notebook in list(waiting):  # a notebook that reads a failed one's results is not run
                broken = [f"{d}.ipynb" for d in waits_for(notebook.stem, parameters.get(notebook.name, {}))
                          if f"{d}.ipynb" in failed]
                if broken:
                    waiting.remove(notebook)
                    failed[notebook.name] = f"not run: it reads the results of {', '.join(broken)}"
                    print(f"{notebook.name}: {failed[notebook.name]}", flush=True)
            if not waiting and not running:
                break
            ready = [n for n in waiting if all(f"{d}.ipynb" in seconds or d not in stems
                                               for d in waits_for(n.stem, parameters.get(n.name, {})))]
            if not ready and not running:
                raise RuntimeError(f"{[n.name for n in waiting]} wait on each other (see reproduce.book.notebooks)")
            for notebook in ready:
                busy = sum(on_device[n] for n in running.values())
                if len(running) >= jobs or (on_device[notebook] and slots is not None and busy >= slots):
                    continue
                waiting.remove(notebook)
                print(f"{notebook.name}: executing", flush=True)
                progress.start(notebook)
                running[pool.submit(_execute, notebook, parameters.get(notebook.name, {}))] = notebook
            done, _ = wait(running, timeout=PROGRESS_SECONDS, return_when=FIRST_COMPLETED)
            if not done:
                print(f"  {progress.line(waiting, list(running.values()))}", flush=True)
            for future in done:
                notebook = running.pop(future)
                try:
                    seconds[notebook.name] = future.result()
                except NotebookFailedError as error:  # the others go on; their results are kept
                    kept = notebook.parent.parent / FAILED / notebook.name
                    kept.parent.mkdir(exist_ok=True)
                    shutil.copy2(notebook, kept)  # the executed copy, with the error in its cell
                    failed[notebook.name] = f"{error}; the executed notebook with the error is {kept}"
                    print(f"{notebook.name}: FAILED: {failed[notebook.name]}", flush=True)
                    continue
                _record(notebook, parameters.get(notebook.name, {}), seconds[notebook.name], environment)
                _keep(notebook, keys[notebook.stem])
                print(f"{notebook.name}: done in {seconds[notebook.name] / 60:.1f} min "
                      f"({len(seconds)} of {len(notebooks)} in this stage); "
                      f"{progress.line(waiting, list(running.values()))}", flush=True)
    if failed:
        raise NotebookFailedError(
            "; ".join(f"{name}: {why}" for name, why in failed.items()) + f". The results of the other "
            f"{len(seconds)} notebooks are kept: run the same command again to execute only the failed notebooks and "
            f"those that read their results.")
    return seconds


def _record(notebook: Path, parameters: dict[str, Any], seconds: float, environment: dict[str, Any]) -> None:
    results = notebook.parent.parent / "results"
    results.mkdir(exist_ok=True)
    record = {"notebook": notebook.name, "parameters": parameters, "seconds": seconds,
              "threads": int(os.environ["OMP_NUM_THREADS"]), **environment, "values": glued_values(notebook)}
    (results / f"{notebook.stem}.json").write_text(json.dumps(record, indent=1))


def run(out: str | Path, parameters: dict[str, dict[str, Any]] | None = None, *, jobs: Optional[int] = None,
        build: bool = True) -> dict[str, Any]:
    """Execute every notebook into ``out`` with ``parameters`` (see :func:`load_parameters`) and, with ``build``,
    build the book there with warnings as errors. Returns what ``out/results/run.json`` records.

    The notebooks run longest first (:func:`reproduce.book.notebooks.run_order`), so that the short ones fill in beside
    the long ones; those registered ``last`` run after all the others, from their results."""
    import yaml

    out = Path(out).resolve()
    parameters = parameters or {}
    for name, given in parameters.items():  # a bad value is refused before the first notebook starts
        problem = bad_value(name, given)
        if problem:
            raise ValueError(problem)
    missing = missing_device(parameters)  # and so is a device this machine does not have
    if missing:
        raise RuntimeError(missing)
    out.mkdir(parents=True, exist_ok=True)
    for name in SOURCES:
        target = out / name
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        copier = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copier(ROOT / name, target, **({"ignore": shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")}
                                     if (ROOT / name).is_dir() else {}))
    shutil.rmtree(out / "results", ignore_errors=True)  # a report must not read an earlier run's numbers
    shutil.rmtree(out / FAILED, ignore_errors=True)
    stems = run_order([n.stem for n in (out / "notebooks").glob("*.ipynb")])
    notebooks = [out / "notebooks" / f"{stem}.ipynb" for stem in stems]
    first = [n for n in notebooks if not named(n.stem).last]
    last = [n for n in notebooks if named(n.stem).last]
    cores = os.cpu_count() or 1
    jobs = max(1, min(jobs or cores, len(notebooks)))
    if not os.environ.get("OMP_NUM_THREADS", "").isdigit():  # unless set, a share of the cores; kernels inherit it
        os.environ["OMP_NUM_THREADS"] = str(max(1, cores // jobs))
    environment = _environment()
    started = time.perf_counter()
    seconds = {}
    keys = cache_keys(notebooks, parameters)
    for stage in (first, last):
        seconds.update(_stage(stage, parameters, jobs, environment, keys))
    results = out / "results"
    summary = {"notebooks": seconds, "jobs": jobs, "execute_seconds": time.perf_counter() - started, **environment}
    if build:
        config = yaml.safe_load((out / "_config.yml").read_text())
        config["execute"]["execute_notebooks"] = "off"  # executed above
        (out / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        build_started = time.perf_counter()
        jupyter_book = Path(sys.executable).parent / "jupyter-book"
        result = subprocess.run([str(jupyter_book), "build", str(out), "--warningiserror", "--nitpick"],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"the book did not build:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
        summary.update(build_seconds=time.perf_counter() - build_started, html=str(out / "_build" / "html"))
    (results / "run.json").write_text(json.dumps(summary, indent=1))
    return summary
