"""Checkpoints as a run relies on them: a write that fails midway leaves the last good checkpoint whole and
loadable, and loading one runs no code. (tests/test_training.py checks the atomic write of each file alone.)"""

import io

import pytest
import torch

from reproduce.training import TrainConfig, checkpoint, load_trained, train

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
    with pytest.raises(checkpoint.WriteFailedError, match="checkpoint.pt.*No space left on device"):
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
    with pytest.raises(checkpoint.UnreadableCheckpointError, match="checkpoint.pt"):
        checkpoint.load(tmp_path / "checkpoint.pt")
    assert not marker.exists()
    torch.load(tmp_path / "checkpoint.pt", weights_only=False)  # unrestricted, the file does run its code
    assert marker.exists()
