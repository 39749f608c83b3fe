"""The real data sets load from files in their real formats, and every way of getting them wrong is reported clearly.

The CIFAR files are written by :func:`reproduce.data.formats.write_cifar` as the official ones are: Python 2 pickles
(protocol 2) whose strings are byte strings. The tests read them back independently of the loader, as the CIFAR page
says to (``pickle.load(..., encoding="bytes")``, which gives ``{b"data": ..., b"labels": ...}``).
"""

import os
import pickle
import pickletools
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

from reproduce import data
from reproduce.data.formats import write_cifar, write_python2_pickle
from reproduce.data.real import (CIFAR_PICKLE_GLOBALS, SPLITS, DatasetNotFoundError, UnreadableImageError, cifar,
                                 image_folder, load_rgb_image)
from reproduce.data.synthetic import CLASSES
from reproduce.data.transforms import denormalize

CIFAR10_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
#: The globals the official files name: numpy's array reconstruction, as numpy 1 under Python 2 pickled it.
OFFICIAL_GLOBALS = {"numpy.core.multiarray _reconstruct", "numpy ndarray", "numpy dtype"}


def read_official(path):
    """A CIFAR file read as the CIFAR page says (no loader of the package): its images (N, 32, 32, 3), as the
    ``data`` rows (red, green and blue planes, row by row) give them, and the whole entry."""
    with open(path, "rb") as file:
        entry = pickle.load(file, encoding="bytes")
    data_rows = entry.get(b"data")
    images = None if data_rows is None else data_rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, entry


def write_cifar10(root):
    """CIFAR-10 with 3 images in each training batch and 4 in the test batch; returns {file: (images, labels)}."""
    folder = write_cifar(root, 10, train_images=15, test_images=4)
    return {name: (images, entry[b"labels"]) for name in CIFAR10_BATCHES + ["test_batch"]
            for images, entry in [read_official(folder / name)]}


def write_cifar100(root):
    """CIFAR-100 with 5 training and 2 test images; returns {file: (images, fine labels)}."""
    folder = write_cifar(root, 100, train_images=5, test_images=2)
    return {name: (images, entry[b"fine_labels"]) for name in ("train", "test")
            for images, entry in [read_official(folder / name)]}


def globals_named(raw):
    """The globals a pickle names, as "module name"."""
    return {arg for op, arg, _ in pickletools.genops(raw) if op.name == "GLOBAL"}


def test_written_files_are_python2_pickles_like_the_official_ones(tmp_path):
    folder = write_cifar(tmp_path, 10, train_images=15, test_images=4)
    assert sorted(p.name for p in folder.iterdir()) == ["batches.meta"] + CIFAR10_BATCHES + ["test_batch"]
    raw = (folder / "data_batch_1").read_bytes()
    assert raw.startswith(b"\x80\x02}q\x00(U\x0bbatch_label")  # protocol 2, a dict, a Python 2 str key
    assert globals_named(raw) == OFFICIAL_GLOBALS
    entry = pickle.loads(raw, encoding="bytes")  # how the CIFAR page says to read them
    assert list(entry) == [b"batch_label", b"labels", b"data", b"filenames"]
    assert entry[b"data"].shape == (3, 3072) and entry[b"data"].dtype == np.uint8
    assert entry[b"batch_label"] == b"training batch 1 of 5" and all(isinstance(f, bytes) for f in entry[b"filenames"])
    meta = read_official(folder / "batches.meta")[1]
    assert meta[b"label_names"] == [name.encode() for name in CLASSES] and meta[b"num_vis"] == 3072
    folder = write_cifar(tmp_path, 100, train_images=5, test_images=2)
    assert sorted(p.name for p in folder.iterdir()) == ["meta", "test", "train"]
    raw = (folder / "train").read_bytes()
    assert raw.startswith(b"\x80\x02}q\x00(U\tfilenames") and globals_named(raw) == OFFICIAL_GLOBALS
    entry = pickle.loads(raw, encoding="bytes")
    assert list(entry) == [b"filenames", b"batch_label", b"fine_labels", b"coarse_labels", b"data"]
    assert entry[b"coarse_labels"] == [label // 5 for label in entry[b"fine_labels"]]
    meta = read_official(folder / "meta")[1]
    assert len(meta[b"fine_label_names"]) == 100 and len(meta[b"coarse_label_names"]) == 20


def test_cifar10_pixels_labels_classes_and_split_sizes(tmp_path):
    written = write_cifar10(tmp_path)
    train = cifar(tmp_path, "train")
    assert len(train) == 15 and train.classes == list(CLASSES)
    train_images = np.concatenate([written[name][0] for name in CIFAR10_BATCHES])
    train_labels = sum((written[name][1] for name in CIFAR10_BATCHES), [])
    assert len(set(train_labels)) > 5  # labels vary, so a mix-up would show
    for index in (0, 4, 14):  # first batch, second batch, last batch
        image, label = train[index]
        assert isinstance(image, Image.Image) and image.mode == "RGB" and image.size == (32, 32)
        assert np.array_equal(np.asarray(image), train_images[index]) and label == train_labels[index]
    assert train.targets == train_labels
    for split in ("val", "test"):  # both the official test set
        held_out = cifar(tmp_path, split)
        images, labels = written["test_batch"]
        assert len(held_out) == 4 and [held_out[i][1] for i in range(4)] == labels
        assert np.array_equal(np.asarray(held_out[3][0]), images[3])


def test_cifar_applies_the_transform(tmp_path):
    written = write_cifar10(tmp_path)
    dataset = cifar(tmp_path, "test", transform=lambda image: torch.from_numpy(np.array(image)).permute(2, 0, 1))
    image, _ = dataset[1]
    assert torch.equal(image, torch.from_numpy(written["test_batch"][0][1]).permute(2, 0, 1))


def test_cifar100_fine_labels_and_classes(tmp_path):
    written = write_cifar100(tmp_path)
    train, test = cifar(tmp_path, "train", num_classes=100), cifar(tmp_path, "test", num_classes=100)
    assert (len(train), len(test)) == (5, 2)
    names = read_official(tmp_path / "cifar-100-python" / "meta")[1][b"fine_label_names"]
    assert train.classes == [name.decode() for name in names] and len(set(train.classes)) == 100
    assert [train[i][1] for i in range(5)] == written["train"][1]
    assert np.array_equal(np.asarray(test[1][0]), written["test"][0][1])


def test_missing_cifar_names_the_files_layout_the_archive_and_how_to_get_it(tmp_path):
    with pytest.raises(DatasetNotFoundError) as error:
        cifar(tmp_path / "nowhere", "train")
    message = str(error.value)
    assert str(tmp_path / "nowhere") in message and "cifar-10-batches-py/data_batch_1" in message
    assert "ROOT/cifar-10-python.tar.gz" in message  # the archive as downloaded is accepted too
    assert "download=True" in message and "https://www.cs.toronto.edu/~kriz/cifar.html" in message
    assert isinstance(error.value, FileNotFoundError)
    write_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "batches.meta").unlink()
    with pytest.raises(DatasetNotFoundError, match="missing cifar-10-batches-py/batches.meta"):
        cifar(tmp_path, "train")
    with pytest.raises(DatasetNotFoundError, match=r"cifar-100-python/\{train, test, meta\}.*cifar-100-python.tar.gz"):
        cifar(tmp_path, "train", num_classes=100)


def test_a_tilde_in_the_root_is_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    written = write_cifar10(tmp_path / "data")
    for root in ("~/data", os.path.join("~", "data")):
        test = cifar(root, "test")
        assert len(test) == 4 and np.array_equal(np.asarray(test[2][0]), written["test_batch"][0][2])
    assert len(data.evaluation_set("cifar10", "test", root="~/data", image_size=32)) == 4


def test_the_downloaded_archive_alone_is_extracted_without_a_download(tmp_path, monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("nothing may be downloaded")

    monkeypatch.setattr("torchvision.datasets.utils.download_url", no_download)
    archive = write_cifar(tmp_path, 100, train_images=6, test_images=3, archive_only=True)
    assert archive == tmp_path / "cifar-100-python.tar.gz" and [p.name for p in tmp_path.iterdir()] == [archive.name]
    test = cifar(tmp_path, "test", num_classes=100)
    images, entry = read_official(tmp_path / "cifar-100-python" / "test")  # extracted next to the archive
    assert len(test) == 3 and test.targets == entry[b"fine_labels"]
    assert np.array_equal(np.asarray(test[1][0]), images[1])


def test_a_damaged_archive_is_named(tmp_path):
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"not a tar.gz archive")
    with pytest.raises(DatasetNotFoundError, match="cannot be extracted") as error:
        cifar(tmp_path, "test")
    assert str(tmp_path / "cifar-10-python.tar.gz") in str(error.value)


def test_an_archive_member_outside_the_root_is_refused(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "payload").write_text("written outside the root")
    with tarfile.open(root / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "payload", arcname="../escaped")
    with pytest.raises(DatasetNotFoundError, match="cannot be extracted") as error:
        cifar(root, "test")
    assert str(root / "cifar-10-python.tar.gz") in str(error.value) and "escaped" in str(error.value)
    assert not (tmp_path / "escaped").exists()


class RunsCode:
    """Unpickled, it calls ``function(*args)``: what a hostile file can make pickle do."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


@pytest.mark.parametrize("file, split", [("test_batch", "test"), ("batches.meta", "train")])
@pytest.mark.parametrize("action", ["open", "system"])
def test_a_pickle_that_would_run_code_is_refused_by_name(tmp_path, file, split, action):
    def hostile(marker):
        return (RunsCode(open, str(marker), "w") if action == "open"
                else RunsCode(os.system, f"touch '{marker}'"))

    # Unpickled without restriction, the payload acts: it creates its marker file.
    proof = tmp_path / "proof"
    pickle.loads(pickle.dumps(hostile(proof), protocol=2))
    assert proof.exists()

    write_cifar10(tmp_path)
    marker = tmp_path / "marker"
    path = tmp_path / "cifar-10-batches-py" / file
    write_python2_pickle(path, {b"data": hostile(marker), b"labels": [0], b"label_names": [b"x"] * 10})
    refused = next(arg for op, arg, _ in pickletools.genops(path.read_bytes()) if op.name == "GLOBAL"
                   and arg not in OFFICIAL_GLOBALS).replace(" ", ".")  # io.open or posix.system
    with pytest.raises(DatasetNotFoundError) as error:
        cifar(tmp_path, split)
    assert str(path) in str(error.value) and f"global {refused}," in str(error.value)
    assert not marker.exists()


def test_the_unpickler_allows_numpy_arrays_pickled_by_python_3_too(tmp_path):
    """The same content re-pickled by Python 3 (protocol 2 writes bytes through _codecs.encode, 5 arrays through
    _frombuffer) loads: only the allowed globals are named."""
    written = write_cifar10(tmp_path)
    path = tmp_path / "cifar-10-batches-py" / "test_batch"
    images, labels = written["test_batch"]
    rows = images.transpose(0, 3, 1, 2).reshape(4, 3072)
    for protocol, names in ((2, [b"_codecs", b"numpy._core.multiarray"]), (3, [b"numpy._core.multiarray"]),
                            (4, [b"_reconstruct"]), (5, [b"_frombuffer"])):
        raw = pickle.dumps({"data": rows, "labels": labels, "batch_label": b"", "x": b"abc"}, protocol=protocol)
        assert all(name in raw for name in names)  # the path each protocol takes
        path.write_bytes(raw)
        test = cifar(tmp_path, "test")
        assert np.array_equal(np.asarray(test[3][0]), images[3]) and test.targets == labels
    assert ("numpy._core.numeric", "_frombuffer") in CIFAR_PICKLE_GLOBALS


@pytest.mark.parametrize("content, problem", [
    (b"this is not a pickle", "cannot be unpickled"),
    ({b"data": np.zeros((2, 3072), np.uint8)}, "keys 'data' and 'labels'"),
    ({b"data": np.zeros((2, 3000), np.uint8), b"labels": [0, 1]}, "shape"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "one integer label per row"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, r"labels must lie in \[0, 10\)"),
])
def test_a_malformed_cifar_file_is_named(tmp_path, content, problem):
    write_cifar10(tmp_path)
    path = tmp_path / "cifar-10-batches-py" / "test_batch"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        write_python2_pickle(path, content)
    with pytest.raises(DatasetNotFoundError, match=problem) as error:
        cifar(tmp_path, "test")
    assert str(path) in str(error.value)
    assert len(cifar(tmp_path, "train")) == 15  # only the files read are checked


def test_a_malformed_meta_file_is_named(tmp_path):
    write_cifar10(tmp_path)
    path = tmp_path / "cifar-10-batches-py" / "batches.meta"
    write_python2_pickle(path, {b"label_names": [b"cat", b"dog"]})
    with pytest.raises(DatasetNotFoundError, match="10 class names") as error:
        cifar(tmp_path, "train")
    assert str(path) in str(error.value)


def test_bad_split_and_num_classes_list_the_choices(tmp_path):
    write_cifar10(tmp_path)
    with pytest.raises(ValueError, match=r"\(10, 100\)"):
        cifar(tmp_path, "train", num_classes=20)
    for load in (cifar, image_folder):
        with pytest.raises(ValueError, match=r"\('train', 'val', 'test'\)"):
            load(tmp_path, "validation")
    assert SPLITS == ("train", "val", "test")


# ImageFolder ----------------------------------------------------------------------------------------------------------

def save_image(path, colour, size=(5, 4), mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path)


def write_small_folder(root):
    """Four tiny images in each split: cat x 2, dog (greyscale) and emu (RGBA)."""
    for split in ("train", "val"):
        save_image(root / split / "cat" / "a.png", (200, 10, 10))
        save_image(root / split / "cat" / "b.jpg", (10, 200, 10))
        save_image(root / split / "dog" / "c.png", 90, mode="L")  # greyscale comes back RGB
        save_image(root / split / "emu" / "d.png", (1, 2, 3, 255), mode="RGBA")


def test_image_folder_classes_labels_and_pixels(tmp_path):
    write_small_folder(tmp_path)
    (tmp_path / "train" / "emu" / "e.png").write_bytes((tmp_path / "train" / "emu" / "d.png").read_bytes())
    train = image_folder(tmp_path, "train")
    assert train.classes == ["cat", "dog", "emu"] and len(train) == 5
    assert [label for _, label in train.samples] == [0, 0, 1, 2, 2]
    image, label = train[0]
    assert isinstance(image, Image.Image) and image.mode == "RGB" and image.size == (5, 4) and label == 0
    assert np.asarray(image)[0, 0].tolist() == [200, 10, 10]
    assert np.asarray(train[2][0])[3, 4].tolist() == [90, 90, 90] and train[2][1] == 1
    assert np.asarray(train[3][0])[0, 0].tolist() == [1, 2, 3]
    for split in ("val", "test"):  # both read val/
        held_out = image_folder(tmp_path, split, transform=lambda im: np.asarray(im).sum())
        assert len(held_out) == 4 and str(held_out.root) == str(tmp_path / "val")
        assert held_out[0] == ((200 + 10 + 10) * 20, 0)  # 20 pixels of (200, 10, 10)


@pytest.mark.parametrize("setup, where", [
    (lambda root: None, "{root}"),
    (lambda root: (root / "train").mkdir(parents=True), "{root}/val"),
    (lambda root: (root / "val").mkdir(parents=True), "{root}/val"),
])
def test_missing_root_split_or_classes(tmp_path, setup, where):
    root = tmp_path / "imagenet"
    setup(root)
    with pytest.raises(DatasetNotFoundError) as error:
        image_folder(root, "val")
    message = str(error.value)
    assert where.format(root=root) in message
    assert "ROOT/train/<class>/<image>" in message and "image-net.org" in message and "valprep.sh" in message


def test_an_empty_split_folder_says_there_are_no_class_folders(tmp_path):
    (tmp_path / "val").mkdir()
    with pytest.raises(DatasetNotFoundError, match="class folder") as error:
        image_folder(tmp_path, "val")
    assert str(tmp_path / "val") in str(error.value)


def test_a_class_folder_without_images_is_named(tmp_path):
    write_small_folder(tmp_path)
    (tmp_path / "train" / "fox").mkdir()
    (tmp_path / "train" / "fox" / "notes.txt").write_text("not an image")
    with pytest.raises(DatasetNotFoundError, match="fox") as error:
        image_folder(tmp_path, "train")
    assert str(tmp_path / "train") in str(error.value)


def test_train_and_val_must_have_the_same_classes(tmp_path):
    write_small_folder(tmp_path)
    save_image(tmp_path / "val" / "fox" / "f.png", (0, 0, 0))
    for split in ("train", "val"):
        with pytest.raises(ValueError, match=r"only in val/: \['fox'\]"):
            image_folder(tmp_path, split)


def test_a_corrupt_image_is_named_when_loaded(tmp_path):
    write_small_folder(tmp_path)
    corrupt = tmp_path / "train" / "dog" / "broken.jpg"
    corrupt.write_bytes(b"these bytes are not an image")
    dataset = image_folder(tmp_path, "train")
    index = [path for path, _ in dataset.samples].index(str(corrupt))
    with pytest.raises(UnreadableImageError) as error:
        dataset[index]
    assert str(corrupt) in str(error.value) and isinstance(error.value, OSError)
    truncated = tmp_path / "truncated.png"
    save_image(truncated, (1, 2, 3), size=(64, 64))
    truncated.write_bytes(truncated.read_bytes()[:60])
    with pytest.raises(UnreadableImageError, match="truncated.png"):
        load_rgb_image(truncated)


def test_whole_folder_images_are_read_when_cropped_and_a_sample_spans_the_classes(tmp_path):
    """Scoring a split with crops (the Evaluation chapter on ImageNet) never holds the split in memory: the images
    are read chunk by chunk, and their probabilities equal those of the images read at once."""
    from reproduce import data, googlenet
    from reproduce.evaluate import crop_probabilities
    from reproduce.evaluate.score import DatasetImages, images_and_targets

    write_small_folder(tmp_path)
    for i in range(3):  # eight val images: cat x 5, dog, emu x 2, of five sizes
        save_image(tmp_path / "val" / "cat" / f"x{i}.png", (i * 50, 99, 7), size=(9 + i, 7))
    save_image(tmp_path / "val" / "emu" / "y.png", (5, 5, 250), size=(8, 8))
    whole = data.whole_images("imagefolder", "val", root=str(tmp_path))
    images, targets = images_and_targets(whole)
    assert isinstance(images, DatasetImages) and len(images) == 8
    assert targets.tolist() == [0, 0, 0, 0, 0, 1, 2, 2] == [label for _, label in whole.samples]
    reads = []
    folder = whole.loader
    whole.loader = lambda path: reads.append(path) or folder(path)
    assert reads == [] and len(images[2:5]) == 3 and len(reads) == 3  # read when indexed, not before
    torch.manual_seed(0)
    model = googlenet(num_classes=3, width=0.125, stem="small", aux_heads=False).eval()
    lazily = crop_probabilities(model, images, crops=10, size=8, batch_size=30)
    at_once = crop_probabilities(model, [whole[i][0] for i in range(8)], crops=10, size=8, batch_size=1000)
    assert lazily.mean.shape == (1, 8, 3) and lazily.crops == 10
    assert torch.allclose(lazily.mean, at_once.mean, atol=1e-6) and torch.allclose(lazily.max, at_once.max, atol=1e-6)
    sample = data.whole_images("imagefolder", "val", root=str(tmp_path), num_images=4)
    assert images_and_targets(sample)[1].tolist() == [0, 0, 0, 2]  # images 0, 2, 4, 6, not the first four cats
    assert sample.classes == ["cat", "dog", "emu"]


# Subsets of real data sets --------------------------------------------------------------------------------------------

def test_train_and_eval_images_keep_evenly_spaced_images_of_a_real_data_set(tmp_path):
    written = write_cifar10(tmp_path)
    train_images = np.concatenate([written[name][0] for name in CIFAR10_BATCHES])
    train_labels = sum((written[name][1] for name in CIFAR10_BATCHES), [])
    whole = dict(crop=False, flip=False, photometric=False, random_interpolation=False)  # 32 px images unchanged
    train, held_out = data.datasets("cifar10", root=str(tmp_path), image_size=32, train_images=4, eval_images=2,
                                    **whole)
    kept = [int(i * 15 / 4) for i in range(4)]  # 0, 3, 7, 11
    assert len(train) == 4 and len(held_out) == 2 and train.classes == held_out.classes == list(CLASSES)
    assert train.targets == [train_labels[i] for i in kept]  # what reproduce.evaluate reads without the images
    for k, index in enumerate(kept):
        image, label = train[k]
        assert label == train_labels[index]
        assert np.array_equal((denormalize(image) * 255).round().byte().permute(1, 2, 0).numpy(),
                              train_images[index])
    assert held_out.targets == [written["test_batch"][1][i] for i in (0, 2)]
    everything, _ = data.datasets("cifar10", root=str(tmp_path), image_size=32, train_images=None)
    assert len(everything) == 15 and data.datasets("cifar10", root=str(tmp_path), train_images=99)[0].__len__() == 15


def test_eval_images_of_a_folder_sorted_by_class_span_the_classes(tmp_path):
    write_small_folder(tmp_path)
    for i in range(3):  # eight val images: cat x 5, dog, emu x 2
        save_image(tmp_path / "val" / "cat" / f"x{i}.png", (i * 50, 99, 7), size=(9 + i, 7))
    save_image(tmp_path / "val" / "emu" / "y.png", (5, 5, 250), size=(8, 8))
    sample = data.evaluation_set("imagefolder", "val", root=str(tmp_path), image_size=4, num_images=4)
    assert sample.targets == [0, 0, 0, 2] == [sample[i][1] for i in range(4)]  # images 0, 2, 4, 6
    assert sample.classes == ["cat", "dog", "emu"] and sample[0][0].shape == (3, 4, 4)
    assert data.evenly_spaced(sample.dataset, 0).indices == []
    with pytest.raises(ValueError, match="num_images=-1"):
        data.evenly_spaced(sample.dataset, -1)
