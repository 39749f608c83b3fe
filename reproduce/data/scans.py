"""An ImageFolder's list of files, scanned once and shared: every run of a parameter set, and every process of a run,
reads ImageNet's 1.28M file names from one file instead of listing 1,000 folders again.

``ImageFolder`` lists every class folder when it is built. :class:`ScannedImageFolder` keeps what it listed in
:data:`SCAN_CACHE` (``REPRODUCE_SCAN_CACHE``, else ``~/.cache/reproduce/scans``), one JSON file per split folder,
stamped with the modification times of the folder and of each class folder (which change when a file is added,
removed or renamed in them); a later build whose stamp matches reads the list from there. A cache that cannot be
written is skipped: the folder is scanned as without one.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable, Optional

from torchvision import datasets


def scan_cache() -> Path:
    """The folder the scans are kept in: ``REPRODUCE_SCAN_CACHE``, else ``~/.cache/reproduce/scans``."""
    return Path(os.environ.get("REPRODUCE_SCAN_CACHE") or "~/.cache/reproduce/scans").expanduser()


def _stamp(directory: Path, class_to_idx: dict[str, int], extensions) -> list:
    """What the list of files depends on, as JSON reads it back (lists, not tuples)."""
    return [os.stat(directory).st_mtime_ns, [[name, index] for name, index in sorted(class_to_idx.items())],
            sorted(extensions or ()), [os.stat(directory / name).st_mtime_ns for name in sorted(class_to_idx)]]


def cache_file(directory: str | Path) -> Path:
    """Where the scan of ``directory`` is kept: named by a hash of its resolved path."""
    resolved = str(Path(directory).resolve())
    return scan_cache() / f"{hashlib.sha256(resolved.encode()).hexdigest()[:16]}.json"


class ScannedImageFolder(datasets.ImageFolder):
    """torchvision's ``ImageFolder``, its list of files read from the scan cache when the folder has not changed
    since it was listed (see the module)."""

    @staticmethod
    def make_dataset(directory, class_to_idx: dict[str, int], extensions: Optional[tuple[str, ...]] = None,
                     is_valid_file: Optional[Callable[[str], bool]] = None,
                     allow_empty: bool = False) -> list[tuple[str, int]]:
        given, directory = os.path.expanduser(str(directory)), Path(directory).expanduser()
        if is_valid_file is not None:  # a check of each file: nothing to keep
            return datasets.folder.make_dataset(directory, class_to_idx, extensions, is_valid_file, allow_empty)
        path, stamp = cache_file(directory), _stamp(directory, class_to_idx, extensions)
        try:
            kept = json.loads(path.read_text())
            if kept["folder"] == str(directory.resolve()) and kept["stamp"] == stamp:
                return [(os.path.join(given, relative), label) for relative, label in kept["samples"]]
        except (OSError, ValueError, KeyError, TypeError):
            pass  # no scan kept, or an unreadable one: scan
        samples = datasets.folder.make_dataset(directory, class_to_idx, extensions, None, allow_empty)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".tmp{os.getpid()}")
            temporary.write_text(json.dumps({"folder": str(directory.resolve()), "stamp": stamp, "samples": [
                (os.path.relpath(file, directory), label) for file, label in samples]}))
            temporary.replace(path)  # whole or not at all: another process may be reading it
        except OSError:
            pass  # a cache that cannot be written: the scan is not kept
        return samples
