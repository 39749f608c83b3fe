"""Real data sets for users who have them: CIFAR-10/100 and the ImageNet folder layout, through torchvision.

Nothing here downloads unless asked (``download=True``, CIFAR only): the book is built without internet. When the
data is missing, incomplete or malformed, the error says which file or folder, the layout expected, and how to get
the data.

Both kinds of data set yield ``(image, label)``, where image is what ``transform`` makes of an RGB PIL image (the PIL
image itself when ``transform`` is None), and expose ``.classes``, the class names in label order.
"""

from __future__ import annotations

import os
import pickle
import tarfile
from pathlib import Path
from typing import Any, BinaryIO, Callable, NamedTuple, Optional, Union

import numpy as np
from PIL import Image
from torch.utils.data import Dataset, Subset
from torchvision import datasets
from torchvision.datasets.vision import VisionDataset

from .scans import ScannedImageFolder

#: ``"train"``: the training images; ``"val"`` and ``"test"``: the images held out for evaluation (the same ones
#: for every data set here, see :func:`cifar` and :func:`image_folder`).
SPLITS = ("train", "val", "test")
#: The CIFAR variants: CIFAR-10 and CIFAR-100.
CIFAR_NUM_CLASSES = (10, 100)
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
#: The folder of :func:`image_folder` that each split reads.
IMAGE_FOLDER_SPLITS = {"train": "train", "val": "val", "test": "val"}
IMAGE_FOLDER_LAYOUT = ("ROOT/train/<class>/<image> and ROOT/val/<class>/<image>, one sub-folder per class with the "
                       "same class folders in both (the ImageNet layout)")
IMAGE_FOLDER_HOW_TO = (
    "For ImageNet (ILSVRC 2012): download the training and validation images from https://image-net.org, extract "
    "the training archive into ROOT/train/<wnid>/, and sort the validation images into one folder per class, "
    "ROOT/val/<wnid>/ (e.g. with the widely used valprep.sh script). Any other data set in the same layout works.")
PathLike = Union[str, os.PathLike]


class DatasetNotFoundError(FileNotFoundError):
    """The data set is missing, incomplete or malformed. The message names the file or folder, the expected layout
    and how to get the data."""


class UnreadableImageError(OSError):
    """An image file of the data set cannot be read as an image. The message names the file."""


#: The largest share of a split's images that may be unreadable before a run that skips them stops: a damaged file
#: or two of ImageNet's 50,000 validation images costs nothing, a wrong or damaged folder stops the run.
MAX_UNREADABLE_SHARE = 0.001


class TooManyUnreadableImagesError(UnreadableImageError):
    """More of a split's images are unreadable than a run may skip (or its first images all are)."""


class UnreadableSample(NamedTuple):
    """What a data loader yields, in place of a sample, for an image that cannot be read: the file and the cause."""

    path: str
    cause: str


def sample_or_unreadable(dataset, index: int):
    """``dataset[index]``, or an :class:`UnreadableSample` naming the file when its image cannot be read."""
    try:
        return dataset[index]
    except UnreadableImageError as error:
        return UnreadableSample(image_path(dataset, index) or f"image {index}", str(error))


def image_path(dataset, index: int) -> Optional[str]:
    """The file of image ``index`` of an ImageFolder (or of a ``Subset`` of one); None for other data sets."""
    if isinstance(dataset, Subset):
        return image_path(dataset.dataset, dataset.indices[index])
    samples = getattr(dataset, "samples", None)
    return None if samples is None else str(samples[index][0])


def check_first_images(dataset, count: int = 8) -> None:
    """Read the first ``count`` images of ``dataset`` (in this process) and stop at once, naming them, if none can be
    read: a run over a folder of damaged or non-image files must not start."""
    problems = []
    for index in range(min(count, len(dataset))):
        try:
            dataset[index]
            return
        except UnreadableImageError as error:
            problems.append(str(error))
    if problems:
        raise TooManyUnreadableImagesError(f"the first {len(problems)} images cannot be read, so the run did not "
                                           f"start: " + "; ".join(problems))


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is not one of {SPLITS}")


# CIFAR ----------------------------------------------------------------------------------------------------------------

#: The only globals a CIFAR "python version" file may name, as (module, name). The official files (Python 2 pickles)
#: name numpy's array reconstruction (``numpy.core.multiarray._reconstruct``, ``numpy.ndarray``, ``numpy.dtype``);
#: the same content re-pickled by Python 3 names ``numpy._core`` (numpy 2), ``_frombuffer`` (protocol 5), and, for
#: byte strings under protocol 2, ``_codecs.encode`` and ``bytes``. Everything else (dicts, lists, strings, numbers)
#: is written with pickle's own opcodes and needs no global.
CIFAR_PICKLE_GLOBALS = frozenset(
    [(f"numpy.{core}.{module}", name) for core in ("core", "_core")
     for module, name in (("multiarray", "_reconstruct"), ("numeric", "_frombuffer"))]
    + [("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"), ("builtins", "bytes"),
       ("__builtin__", "bytes")])


class CIFARUnpickler(pickle.Unpickler):
    """Unpickles a CIFAR "python version" file and nothing else: a global outside :data:`CIFAR_PICKLE_GLOBALS`
    raises :class:`DatasetNotFoundError` naming the file and the global, before anything is called, so a hostile file
    cannot run code. Strings are decoded as latin-1, as torchvision reads the official (Python 2) files."""

    def __init__(self, file: BinaryIO, path: PathLike) -> None:
        super().__init__(file, encoding="latin1")
        self.path = path

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in CIFAR_PICKLE_GLOBALS:
            allowed = ", ".join(sorted(f"{m}.{n}" for m, n in CIFAR_PICKLE_GLOBALS))
            raise DatasetNotFoundError(
                f"{self.path} is not a CIFAR file: it refers to the global {module}.{name}, which CIFAR's files do "
                f"not contain; refused, since unpickling it could run code (allowed: {allowed})")
        return super().find_class(module, name)


class _ContentCheckedCIFAR:
    """Mixin for torchvision's CIFAR10/CIFAR100 that reads the files with :class:`CIFARUnpickler` and checks them by
    their content instead of their md5.

    torchvision compares each batch file's md5 with that of the one official archive and reports any other file as
    "not found or corrupted". The md5 pins that one archive, while the same data may reach a user re-pickled (another
    pickle protocol, another tool); so here a file is accepted when it is a pickle with CIFAR's content: a ``data``
    array of uint8 rows of 3,072 values (the red, green and blue 32 x 32 planes) and one label in range per row.
    A missing file, or one that is not such a pickle, is reported by name. Each file is unpickled once, and only
    through :class:`CIFARUnpickler` (torchvision's loading, which unpickles without restriction, is not run). The
    archive torchvision downloads, ``ROOT/<filename>``, is extracted when its folder is missing; when
    ``download=True`` fetches it, it is checked by its md5 (torchvision's ``download``).
    """

    label_key: str  # the key of the labels in a batch file
    num_classes: int
    dataset_name: str  # for messages
    # from torchvision's class: base_folder, filename (the archive), train_list, test_list, meta, download

    def __init__(self, root: PathLike, *, train: bool, transform: Optional[Callable], download: bool) -> None:
        root = Path(root).expanduser()
        VisionDataset.__init__(self, root, transform=transform)
        self.train = train
        extracted = self._extract_archive()
        if download:
            self.download()
        missing = [f"{self.base_folder}/{name}" for name in self._file_names() if not os.path.isfile(self._path(name))]
        if missing:
            note = f" (extracted from {root / self.filename}, which lacks them)" if extracted else ""
            raise DatasetNotFoundError(f"{self.dataset_name} is not in {root}: missing {', '.join(missing)}{note}. "
                                       f"{self.layout_and_how_to()}")
        batches = [self._checked_batch(name) for name, _md5 in (self.train_list if train else self.test_list)]
        self.data = np.concatenate([data for data, _ in batches]).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        self.targets = [int(label) for _, labels in batches for label in labels]
        self._load_meta()

    @classmethod
    def layout_and_how_to(cls) -> str:
        return (f"Expected layout: ROOT/{cls.base_folder}/{{{', '.join(cls._file_names())}}}, or the archive "
                f"ROOT/{cls.filename} alone (it is then extracted there). To get it: pass download=True "
                f"(--download) on a machine with internet, or download the {cls.dataset_name} \"python version\" "
                f"archive from {CIFAR_URL} into ROOT.")

    @classmethod
    def _file_names(cls) -> list[str]:
        return [name for name, _md5 in cls.train_list + cls.test_list] + [cls.meta["filename"]]

    def _path(self, name: str) -> str:
        return os.path.join(self.root, self.base_folder, name)

    def _extract_archive(self) -> bool:
        """Extract ``ROOT/<filename>`` (the archive as torchvision downloads it) when ``ROOT/<base_folder>`` is
        missing; whether it was extracted. tarfile's ``"data"`` filter refuses members that would land outside ROOT
        (absolute paths, ``..``, links) or are not plain files and folders, which torchvision's ``extract_archive``
        (no filter) would write."""
        archive = Path(self.root) / self.filename
        if (Path(self.root) / self.base_folder).exists() or not archive.is_file():
            return False
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(self.root, filter="data")
        except Exception as error:  # tarfile.ReadError, FilterError, EOFError, zlib.error, ... depending on the damage
            raise DatasetNotFoundError(f"{archive} cannot be extracted ({type(error).__name__}: {error}). "
                                       f"{self.layout_and_how_to()}") from error
        return True

    def _read(self, name: str) -> Any:
        """The unpickled content of a file, through :class:`CIFARUnpickler`."""
        path = self._path(name)
        try:
            with open(path, "rb") as file:
                return CIFARUnpickler(file, path).load()
        except DatasetNotFoundError:  # a refused global, named by the unpickler
            raise
        except Exception as error:  # unpickling raises many types (UnpicklingError, EOFError, ValueError, ...)
            raise self._malformed(name, f"it cannot be unpickled ({type(error).__name__}: {error})") from error

    def _malformed(self, name: str, problem: str) -> DatasetNotFoundError:
        return DatasetNotFoundError(f"{self._path(name)} is not a {self.dataset_name} file: {problem}. "
                                    f"{self.layout_and_how_to()}")

    def _checked_batch(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The ``data`` rows and labels of a batch file, or a :class:`DatasetNotFoundError` naming it."""
        entry = self._read(name)
        if not isinstance(entry, dict) or "data" not in entry or self.label_key not in entry:
            keys = sorted(map(str, entry)) if isinstance(entry, dict) else type(entry).__name__
            raise self._malformed(name, f"expected a dict with keys 'data' and {self.label_key!r}, got {keys}")
        data, labels = entry["data"], np.asarray(entry[self.label_key])
        if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2 and data.shape[1] == 3072):
            raise self._malformed(name, f"'data' must be a uint8 array of shape (N, 3072), got "
                                        f"{type(data).__name__} of shape {getattr(data, 'shape', None)} and dtype "
                                        f"{getattr(data, 'dtype', None)}")
        if labels.shape != (len(data),) or (labels.size and not np.issubdtype(labels.dtype, np.integer)):
            raise self._malformed(name, f"{self.label_key!r} must hold one integer label per row of 'data' "
                                        f"({len(data)}), got {labels.shape} of {labels.dtype}")
        if len(labels) and not (0 <= labels.min() and labels.max() < self.num_classes):
            raise self._malformed(name, f"labels must lie in [0, {self.num_classes}), got {labels.min()} to "
                                        f"{labels.max()}")
        return data, labels

    # The two torchvision methods that check md5s, replaced.

    def _check_integrity(self) -> bool:
        """All files present (False otherwise, so that ``download=True`` fetches the archive); their content is
        checked when they are read."""
        return all(os.path.isfile(self._path(name)) for name in self._file_names())

    def _load_meta(self) -> None:
        name, key = self.meta["filename"], self.meta["key"]
        meta = self._read(name)
        names = meta.get(key) if isinstance(meta, dict) else None
        if not (isinstance(names, (list, tuple)) and len(names) == self.num_classes
                and all(isinstance(n, str) for n in names)):
            raise self._malformed(name, f"expected a dict whose {key!r} is a list of {self.num_classes} class names")
        self.classes = list(names)
        self.class_to_idx = {label_name: i for i, label_name in enumerate(self.classes)}


class ContentCheckedCIFAR10(_ContentCheckedCIFAR, datasets.CIFAR10):
    """torchvision's CIFAR10, with its files checked by content instead of md5 (see :class:`_ContentCheckedCIFAR`)."""
    label_key, num_classes, dataset_name = "labels", 10, "CIFAR-10"


class ContentCheckedCIFAR100(_ContentCheckedCIFAR, datasets.CIFAR100):
    """torchvision's CIFAR100 (its 100 fine classes), with its files checked by content instead of md5."""
    label_key, num_classes, dataset_name = "fine_labels", 100, "CIFAR-100"


def cifar(root: PathLike, split: str, *, num_classes: int = 10, download: bool = False,
          transform: Optional[Callable] = None) -> Dataset:
    """CIFAR-10 (``num_classes=10``) or CIFAR-100 (``num_classes=100``, the fine labels) from ``root``.

    ``split="train"`` is the 50,000 training images. CIFAR has no official validation set, so ``"val"`` and
    ``"test"`` are both the official 10,000 test images: model selection on "val" then sees the test images, which
    a study that reports test accuracy should keep in mind (or hold out part of "train" itself).

    ``root`` (``~`` is expanded) holds ``cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}`` or
    ``cifar-100-python/{train, test, meta}``, as extracted from the "python version" archives of
    https://www.cs.toronto.edu/~kriz/cifar.html, or only the archive itself (``cifar-10-python.tar.gz``,
    ``cifar-100-python.tar.gz``), which is then extracted there without any download. ``download=True`` lets
    torchvision fetch and extract the archive first (a machine with internet). The files are unpickled by
    :class:`CIFARUnpickler`, which refuses anything but CIFAR's content. Missing or malformed files raise
    :class:`DatasetNotFoundError`.
    """
    _check_split(split)
    if num_classes not in CIFAR_NUM_CLASSES:
        raise ValueError(f"num_classes={num_classes!r} is not one of {CIFAR_NUM_CLASSES} (CIFAR-10 or CIFAR-100)")
    dataset_class = ContentCheckedCIFAR10 if num_classes == 10 else ContentCheckedCIFAR100
    return dataset_class(root, train=split == "train", transform=transform, download=download)


# ImageFolder ----------------------------------------------------------------------------------------------------------

def load_rgb_image(path: PathLike) -> Image.Image:
    """The image at ``path`` as an RGB PIL image (torchvision's ``pil_loader``), or :class:`UnreadableImageError`
    naming the file."""
    try:
        return datasets.folder.pil_loader(path)
    except Exception as error:  # PIL raises OSError, SyntaxError, ValueError, ... depending on the damage
        raise UnreadableImageError(f"cannot read the image {path} ({type(error).__name__}: {error})") from error


def _not_found(problem: str) -> DatasetNotFoundError:
    return DatasetNotFoundError(f"{problem}. Expected layout: {IMAGE_FOLDER_LAYOUT}. {IMAGE_FOLDER_HOW_TO}")


def image_folder(root: PathLike, split: str, *, transform: Optional[Callable] = None) -> Dataset:
    """Images in the ImageNet layout, ``ROOT/train/<class>/<image>`` and ``ROOT/val/<class>/<image>``, through
    torchvision's ``ImageFolder`` (its list of files scanned once and kept, :mod:`.scans`): classes are the
    sub-folder names, sorted, and labels their positions.

    ``split="train"`` reads ``train/``; ``"val"`` and ``"test"`` both read ``val/``: ImageNet's test labels are not
    public, so its validation set is what papers (GoogLeNet's included) report as held-out accuracy.

    Raises :class:`DatasetNotFoundError` when the root or the split folder is missing, when the split folder has no
    class sub-folders or a class sub-folder has no image, and ``ValueError`` when ``train/`` and ``val/`` do not have
    the same class folders (labels would then mean different classes in the two). A file that is not a readable image
    raises :class:`UnreadableImageError`, naming it, when it is loaded.
    """
    _check_split(split)
    root = Path(root).expanduser()
    if not root.is_dir():
        raise _not_found(f"there is no folder {root}")
    folder = root / IMAGE_FOLDER_SPLITS[split]
    if not folder.is_dir():
        raise _not_found(f"there is no folder {folder} for split={split!r}")
    try:
        dataset = ScannedImageFolder(folder, transform=transform, loader=load_rgb_image)
    except FileNotFoundError as error:  # torchvision: no class folder, or class folders without an image
        raise _not_found(f"{folder}: {error}") from error
    _check_same_classes(root, dataset.classes, IMAGE_FOLDER_SPLITS[split])
    return dataset


def _check_same_classes(root: Path, classes: list[str], folder: str) -> None:
    """The class folders of ``folder`` are those of the other split folder, when that exists."""
    other = next(f for f in set(IMAGE_FOLDER_SPLITS.values()) if f != folder)
    if not (root / other).is_dir():
        return
    try:
        other_classes, _ = datasets.folder.find_classes(root / other)
    except FileNotFoundError:  # no class folder there: reported when that split is loaded
        return
    if other_classes != classes:
        only_here, only_there = sorted(set(classes) - set(other_classes)), sorted(set(other_classes) - set(classes))
        raise ValueError(f"{root / folder} and {root / other} do not have the same class folders, so a label would "
                         f"mean different classes in the two: only in {folder}/: {only_here or 'none'}; only in "
                         f"{other}/: {only_there or 'none'}")
