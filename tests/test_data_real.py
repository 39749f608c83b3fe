"""The real data sets load from files in their real formats, and every way of getting them wrong is reported clearly.

The CIFAR files are written as the official ones are: Python 2 pickles (protocol 2) whose strings are byte strings,
read back with ``pickle.load(..., encoding="bytes")`` as ``{b"data": ..., b"labels": ...}``.
"""

import io
import pickle
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from reproduce.data.real import (SPLITS, DatasetNotFoundError, UnreadableImageError, cifar, image_folder,
                                 load_rgb_image)


class Python2Pickler(pickle._Pickler):
    """Writes ``bytes`` as Python 2 wrote its ``str`` (SHORT_BINSTRING and BINSTRING), the strings of the official
    CIFAR pickles; the standard pickler has no option for it. numpy arrays then pickle as in Python 2 as well."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_python2_str(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_python2_str


def write_python2_pickle(path, obj):
    buffer = io.BytesIO()
    Python2Pickler(buffer, protocol=2).dump(obj)
    path.write_bytes(buffer.getvalue())


def cifar_images(n, seed):
    """n random 32 x 32 RGB images as CIFAR rows: the red, green and blue planes, each row by row."""
    images = np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    return images, images.transpose(0, 3, 1, 2).reshape(n, 3072)


CIFAR10_NAMES = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
CIFAR10_BATCHES = {f"data_batch_{i}": 3 for i in range(1, 6)} | {"test_batch": 4}


def write_cifar10(root):
    """CIFAR-10 with 3 images in each training batch and 4 in the test batch; returns {file: (images, labels)}."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    written = {}
    for seed, (name, n) in enumerate(CIFAR10_BATCHES.items()):
        images, rows = cifar_images(n, seed)
        labels = [(seed * 3 + i) % 10 for i in range(n)]
        write_python2_pickle(folder / name, {b"batch_label": name.encode(), b"labels": labels, b"data": rows,
                                             b"filenames": [f"{name}_{i}.png".encode() for i in range(n)]})
        written[name] = images, labels
    write_python2_pickle(folder / "batches.meta", {b"num_cases_per_batch": 10000, b"label_names": CIFAR10_NAMES,
                                                   b"num_vis": 3072})
    return written


def write_cifar100(root):
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    written = {}
    for seed, (name, n) in enumerate({"train": 5, "test": 2}.items()):
        images, rows = cifar_images(n, 10 + seed)
        fine = [97 - 13 * i - seed for i in range(n)]
        write_python2_pickle(folder / name, {b"filenames": [b"x.png"] * n, b"batch_label": b"batch",
                                             b"fine_labels": fine, b"coarse_labels": [f // 5 for f in fine],
                                             b"data": rows})
        written[name] = images, fine
    write_python2_pickle(folder / "meta", {b"fine_label_names": [f"fine{i:02d}".encode() for i in range(100)],
                                           b"coarse_label_names": [f"coarse{i:02d}".encode() for i in range(20)]})
    return written


def test_written_files_are_python2_pickles_like_the_official_ones(tmp_path):
    write_cifar10(tmp_path)
    raw = (tmp_path / "cifar-10-batches-py" / "data_batch_1").read_bytes()
    assert raw.startswith(b"\x80\x02}q\x00(U\x0bbatch_label")  # protocol 2, a dict, a Python 2 str key
    entry = pickle.loads(raw, encoding="bytes")  # how the CIFAR page says to read them
    assert {b"data", b"labels", b"batch_label", b"filenames"} == set(entry) and entry[b"data"].shape == (3, 3072)


def test_cifar10_pixels_labels_classes_and_split_sizes(tmp_path):
    written = write_cifar10(tmp_path)
    train = cifar(tmp_path, "train")
    assert len(train) == 15 and train.classes == [n.decode() for n in CIFAR10_NAMES]
    train_images = np.concatenate([written[f"data_batch_{i}"][0] for i in range(1, 6)])
    train_labels = sum((written[f"data_batch_{i}"][1] for i in range(1, 6)), [])
    for index in (0, 4, 14):  # first batch, second batch, last batch
        image, label = train[index]
        assert isinstance(image, Image.Image) and image.mode == "RGB" and image.size == (32, 32)
        assert np.array_equal(np.asarray(image), train_images[index]) and label == train_labels[index]
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
    assert train.classes == [f"fine{i:02d}" for i in range(100)]
    assert [train[i][1] for i in range(5)] == written["train"][1]
    assert np.array_equal(np.asarray(test[1][0]), written["test"][0][1])


def test_missing_cifar_names_the_files_layout_and_how_to_get_it(tmp_path):
    with pytest.raises(DatasetNotFoundError) as error:
        cifar(tmp_path / "nowhere", "train")
    message = str(error.value)
    assert str(tmp_path / "nowhere") in message and "cifar-10-batches-py/data_batch_1" in message
    assert "download=True" in message and "https://www.cs.toronto.edu/~kriz/cifar.html" in message
    assert isinstance(error.value, FileNotFoundError)
    write_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "batches.meta").unlink()
    with pytest.raises(DatasetNotFoundError, match="missing cifar-10-batches-py/batches.meta"):
        cifar(tmp_path, "train")
    with pytest.raises(DatasetNotFoundError, match=r"cifar-100-python/\{train, test, meta\}"):
        cifar(tmp_path, "train", num_classes=100)


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


def write_image_folder(root):
    for split in ("train", "val"):
        save_image(root / split / "cat" / "a.png", (200, 10, 10))
        save_image(root / split / "cat" / "b.jpg", (10, 200, 10))
        save_image(root / split / "dog" / "c.png", 90, mode="L")  # greyscale comes back RGB
        save_image(root / split / "emu" / "d.png", (1, 2, 3, 255), mode="RGBA")


def test_image_folder_classes_labels_and_pixels(tmp_path):
    write_image_folder(tmp_path)
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
    write_image_folder(tmp_path)
    (tmp_path / "train" / "fox").mkdir()
    (tmp_path / "train" / "fox" / "notes.txt").write_text("not an image")
    with pytest.raises(DatasetNotFoundError, match="fox") as error:
        image_folder(tmp_path, "train")
    assert str(tmp_path / "train") in str(error.value)


def test_train_and_val_must_have_the_same_classes(tmp_path):
    write_image_folder(tmp_path)
    save_image(tmp_path / "val" / "fox" / "f.png", (0, 0, 0))
    for split in ("train", "val"):
        with pytest.raises(ValueError, match=r"only in val/: \['fox'\]"):
            image_folder(tmp_path, split)


def test_a_corrupt_image_is_named_when_loaded(tmp_path):
    write_image_folder(tmp_path)
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

    write_image_folder(tmp_path)
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
    assert lazily.shape == (1, 8, 10, 3) and torch.allclose(lazily, at_once, atol=1e-6)
    sample = data.whole_images("imagefolder", "val", root=str(tmp_path), num_images=4)
    assert images_and_targets(sample)[1].tolist() == [0, 0, 0, 2]  # images 0, 2, 4, 6, not the first four cats
    assert sample.classes == ["cat", "dog", "emu"]
