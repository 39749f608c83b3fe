"""Checkpoints as a run relies on them: a write that fails midway leaves the last good checkpoint whole and
loadable, and loading one runs no code; each file is written atomically."""

import io
import json
import re

import pytest
import torch

from reproduce import checkpoints
from reproduce.checkpoints import load_trained
from reproduce.training import TrainConfig, train

#: 32 images of 32 px, 2 steps of 16 an epoch, an eighth of Table 1's width.
TINY = dict(dataset="shapes", shapes_size=32, image_size=32, train_images=32, eval_images=16, width=0.125,
            batch_size=16, lr=0.02, progress=False)


def test_a_run_whose_checkpoint_write_fails_midway_keeps_the_last_epoch_s_checkpoint_loadable(tmp_path, monkeypatch):
    """torch.save writes half of epoch 2's checkpoint, then the disk is full: the run stops, naming the file, and
    the folder holds epoch 1's checkpoint, whole, from which the run resumes."""
    config = TrainConfig(**TINY, epochs=2)
    real_save, saved = torch.save, []

    def torn(state, file, *args, **kwargs):
        if saved:  # the second checkpoint
            whole = io.BytesIO()
            real_save(state, whole)
            file.write(whole.getvalue()[:len(whole.getvalue()) // 2])
            raise OSError(28, "No space left on device")
        saved.append({name: value.clone() for name, value in state["model"].items()})
        real_save(state, file, *args, **kwargs)

    monkeypatch.setattr(torch, "save", torn)
    with pytest.raises(checkpoints.WriteFailedError, match="checkpoint.pt.*No space left on device"):
        train(config, tmp_path)
    monkeypatch.undo()
    model, state = load_trained(tmp_path, which="raw")
    assert state["epoch"] == 1 and [row["epoch"] for row in state["history"]] == [1]
    for name, value in model.state_dict().items():
        assert torch.equal(value, saved[0][name]), name
    assert len(train(config, tmp_path, resume=True).history) == 2


def test_loading_a_checkpoint_cannot_run_code(tmp_path):
    """A checkpoint is read with ``weights_only=True``: a file whose pickle would run code is refused by name."""
    marker = tmp_path / "ran"
    hostile = type("RunsCode", (), {"__reduce__": lambda self: (open, (str(marker), "w"))})()
    torch.save({"epoch": 1, "payload": hostile}, tmp_path / "checkpoint.pt")
    with pytest.raises(checkpoints.UnreadableCheckpointError, match="checkpoint.pt"):
        checkpoints.load(tmp_path / "checkpoint.pt")
    assert not marker.exists()
    torch.load(tmp_path / "checkpoint.pt", weights_only=False)  # unrestricted, the file does run its code
    assert marker.exists()


@pytest.mark.parametrize("writer", ["save", "save_json"])
def test_a_write_that_fails_midway_keeps_the_last_good_file(tmp_path, monkeypatch, writer):
    """A full disk while a checkpoint (or results file) is written: the previous one stays intact and loadable, no
    partial file is left beside it, and the error names the file and the cause."""
    path = tmp_path / ("checkpoint.pt" if writer == "save" else "history.json")
    good = {"epoch": 1, "weights": torch.arange(6.0)} if writer == "save" else {"epoch": 1, "rows": [1, 2]}
    (checkpoints.save if writer == "save" else checkpoints.save_json)(good, path)
    before = path.read_bytes()

    class FullDisk:
        """The file the writer opens: the first write goes to disk in part, then the disk is full."""

        def __init__(self, *args):
            self.file = open(*args)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

        def write(self, data):
            self.file.write(bytes(data)[:max(1, len(data) // 2)])
            self.file.flush()
            raise OSError(28, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.file, name)

    monkeypatch.setattr(checkpoints, "open", FullDisk, raising=False)
    newer = {"epoch": 2, "weights": torch.arange(1000.0)} if writer == "save" else {"epoch": 2, "rows": list(range(99))}
    with pytest.raises(checkpoints.WriteFailedError, match=rf"could not write {re.escape(str(path))} \(OSError: "
                                                          r".*No space left on device\); the previous"):
        (checkpoints.save if writer == "save" else checkpoints.save_json)(newer, path)
    monkeypatch.undo()
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    if writer == "save":
        assert torch.equal(checkpoints.load(path)["weights"], good["weights"])
    else:
        assert json.loads(path.read_text()) == good
