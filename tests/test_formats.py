"""The project's own files in the real formats (reproduce.data.formats) are read by the package's loaders as the real
files are: CIFAR from the downloaded archive alone, an ImageNet-like folder with ImageNet's odd files, and a
torchvision GoogLeNet state_dict. What was written is read back independently of the loaders (tarfile, pickle, PIL)."""

import collections
import pickle
import tarfile

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from reproduce import data
from reproduce.data.formats import (ODDITIES, PHOTO_ASPECT, PHOTO_SIDES, wnid, write_cifar, write_image_folder,
                                    write_torchvision_googlenet)
from reproduce.data.real import cifar, image_folder

CIFAR = {10: ("cifar-10-python.tar.gz", "cifar-10-batches-py", ["test_batch"], "labels"),
         100: ("cifar-100-python.tar.gz", "cifar-100-python", ["test"], "fine_labels")}


def read_archive(archive, member):
    """One file of a CIFAR archive, unpickled as the CIFAR page says: images (N, 32, 32, 3) and the whole entry."""
    with tarfile.open(archive) as tar:
        entry = pickle.load(tar.extractfile(member), encoding="bytes")
    return entry[b"data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), entry


@pytest.mark.parametrize("num_classes", [10, 100])
def test_cifar_loads_from_the_archive_alone_through_a_home_path(tmp_path, monkeypatch, num_classes):
    monkeypatch.setenv("HOME", str(tmp_path))
    archive_name, folder, (test_file,), label_key = CIFAR[num_classes]
    archive = write_cifar("~/data", num_classes, train_images=120, test_images=30, seed=1, archive_only=True)
    assert archive == tmp_path / "data" / archive_name and [p.name for p in archive.parent.iterdir()] == [archive_name]
    with tarfile.open(archive) as tar:  # the folder inside, as torchvision downloads it
        assert all(name == folder or name.startswith(folder + "/") for name in tar.getnames())
    images, entry = read_archive(archive, f"{folder}/{test_file}")
    test = cifar("~/data", "test", num_classes=num_classes)
    assert len(test) == 30 and test.targets == entry[label_key.encode()]
    for index in (0, 17, 29):
        image, label = test[index]
        assert image.mode == "RGB" and np.array_equal(np.asarray(image), images[index])
    assert len(test.classes) == num_classes and len(set(test.classes)) == num_classes
    train, held_out = data.datasets(f"cifar{num_classes}", root="~/data", image_size=32, train_images=40,
                                    eval_images=10)
    assert (len(train), len(held_out), len(cifar("~/data", "train", num_classes=num_classes))) == (40, 10, 120)
    assert train[0][0].shape == (3, 32, 32) and train.classes == test.classes


@pytest.mark.parametrize("num_classes", [10, 100])
def test_cifar_labels_are_balanced_and_the_same_seed_writes_the_same_files(tmp_path, num_classes):
    _, folder, _, label_key = CIFAR[num_classes]
    first = write_cifar(tmp_path / "a", num_classes, train_images=2 * num_classes + 3, test_images=7)
    again = write_cifar(tmp_path / "b", num_classes, train_images=2 * num_classes + 3, test_images=7)
    other = write_cifar(tmp_path / "c", num_classes, train_images=2 * num_classes + 3, test_images=7, seed=5)
    assert first.name == folder
    for path in first.iterdir():
        assert path.read_bytes() == (again / path.name).read_bytes()
        assert (path.read_bytes() != (other / path.name).read_bytes()) == ("meta" not in path.name)  # meta: names
    labels = cifar(tmp_path / "a", "train", num_classes=num_classes).targets
    assert sorted(collections.Counter(labels).values()) == [2] * (num_classes - 3) + [3] * 3


def open_raw(path):
    """The format and mode PIL reads in a file, whatever its name says."""
    with Image.open(path) as image:
        return image.format, image.mode


def test_image_folder_has_imagenets_layout_sizes_and_odd_files(tmp_path):
    root = write_image_folder(tmp_path / "imagenet", classes=4, train_per_class=12, val_per_class=5, seed=2)
    assert root == tmp_path / "imagenet"
    for split, per_class in (("train", 12), ("val", 5)):
        folders = sorted(p.name for p in (root / split).iterdir())
        assert folders == [wnid(k) for k in range(4)] == ["n00000000", "n00000001", "n00000002", "n00000003"]
        files = sorted((root / split).glob("*/*"))
        assert len(files) == 4 * per_class and all(path.suffix == ".JPEG" for path in files)
        prefix = (lambda path: path.parent.name + "_") if split == "train" else (lambda path: "ILSVRC2012_val_")
        assert all(path.name.startswith(prefix(path)) for path in files)
        kinds = collections.Counter(open_raw(path) for path in files)
        assert kinds[("JPEG", "L")] >= 1 and kinds[("JPEG", "CMYK")] >= 1 and kinds[("PNG", "RGB")] >= 1
        assert kinds[("JPEG", "RGB")] == len(files) - len(ODDITIES)

        dataset = image_folder(root, split)
        sizes = []
        for path, label in dataset.samples:  # every file, the odd ones included, loads as an RGB image
            image, loaded_label = dataset[dataset.samples.index((path, label))]
            with Image.open(path) as raw:
                assert image.mode == "RGB" and image.size == raw.size and loaded_label == label
            sizes.append(image.size)
        widths, heights = np.array(sizes).T
        assert PHOTO_SIDES == (64, 320) and widths.min() >= 64 and heights.min() >= 64
        assert widths.max() <= 320 and heights.max() <= 320
        aspect = np.maximum(widths, heights) / np.minimum(widths, heights)
        assert aspect.max() <= PHOTO_ASPECT[1] and aspect.max() > 1.3 and aspect.min() < 1.1
        assert (widths > heights).any() and (widths < heights).any()  # landscape and portrait
        assert len(set(sizes)) > len(sizes) // 2 and len({round(w / h, 2) for w, h in sizes}) > len(sizes) // 2
    train, held_out = data.datasets("imagefolder", root=str(root), image_size=32, eval_images=8)
    assert train.classes == held_out.classes and len(train) == 48
    assert held_out.targets == [int(i * 20 / 8) // 5 for i in range(8)]  # evenly spaced over 4 classes x 5
    assert all(held_out[i][0].shape == (3, 32, 32) for i in range(8))


def test_image_folder_needs_room_for_its_odd_files_and_one_shape_per_class(tmp_path):
    with pytest.raises(ValueError, match="val_per_class=0"):
        write_image_folder(tmp_path, classes=4, train_per_class=1, val_per_class=0)
    with pytest.raises(ValueError, match="classes=11"):
        write_image_folder(tmp_path, classes=11, train_per_class=1, val_per_class=1)


def test_torchvision_googlenet_state_dict_loads_strictly_and_follows_the_seed(tmp_path):
    before = torch.get_rng_state()
    path = write_torchvision_googlenet(tmp_path / "weights" / "googlenet-1378be20.pth", seed=3)
    assert torch.equal(torch.get_rng_state(), before)  # the writer leaves the global random state alone
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=False)
    model.load_state_dict(state, strict=True)
    assert state["fc.weight"].shape == (1000, 1024) and any(key.startswith("aux1.") for key in state)
    torch.manual_seed(3)  # the same initialization, made here
    reference = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=True).state_dict()
    torch.set_rng_state(before)
    assert all(torch.equal(state[key], reference[key]) for key in reference)

    from reproduce.evaluate.score import load_model  # the loader of `reproduce evaluate --preset torchvision`

    loaded, info = load_model(path, preset="torchvision")
    assert torch.equal(loaded.state_dict()["fc.weight"], state["fc.weight"]) and info["classes"] is None
