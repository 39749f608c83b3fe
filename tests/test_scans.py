"""An ImageFolder's list of files scanned once and read back by every later run and process while the folder is
unchanged; a file added or removed is seen."""

import os

import pytest
from torchvision import datasets

from reproduce.data import formats, scans
from reproduce.data.real import image_folder


@pytest.fixture
def folder(tmp_path):
    return formats.write_image_folder(tmp_path / "imagenet", classes=3, train_per_class=4, val_per_class=3)


def test_the_kept_scan_is_torchvision_s_and_a_later_build_reads_it_without_listing_a_folder(folder, monkeypatch):
    first = image_folder(folder, "train")
    assert first.samples == datasets.ImageFolder(folder / "train").samples  # torchvision's own scan
    assert scans.cache_file(folder / "train").is_file()

    def no_listing(*args, **kwargs):
        raise AssertionError("the folder was listed again")

    monkeypatch.setattr(datasets.folder, "make_dataset", no_listing)
    again = image_folder(folder, "train")
    assert again.samples == first.samples and again.targets == first.targets


def test_a_file_added_or_removed_is_seen(folder):
    before = image_folder(folder, "train").samples
    removed = before[0][0]
    os.remove(removed)
    after = image_folder(folder, "train").samples
    assert after == before[1:]
    added = folder / "train" / os.path.basename(os.path.dirname(removed)) / "added.JPEG"
    os.link(before[1][0], added)
    assert (str(added), before[1][1]) in image_folder(folder, "train").samples


def test_a_cache_that_cannot_be_written_leaves_the_scan_as_it_is(folder, monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("REPRODUCE_SCAN_CACHE", str(blocker / "scans"))  # under a file: cannot be made
    assert image_folder(folder, "val").samples == datasets.ImageFolder(folder / "val").samples
