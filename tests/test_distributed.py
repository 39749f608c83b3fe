"""DistributedDataParallel as the training loop uses it: N processes with batch B/N take the steps of one process
with batch B. Each process loads its share of every global batch (the same images, augmented alike, as one process
would), and a run of two gloo processes (forked from this one, so they start in a fraction of a second) ends with
the weights and metrics of a run of one. tests/test_training.py and tests/test_launch.py run the same under
``torchrun`` (slow tier)."""

import multiprocessing
import os
import socket
import traceback

import pytest
import torch

from reproduce.training import TrainConfig, train
from reproduce.training.distributed import Processes
from reproduce.training.loop import _loaders, build_model

#: 32 images of 32 px, 2 steps of 16 an epoch. The augmentation stays on (each sample's is seeded whichever process
#: loads it); dropout is off, since each process draws its own masks; lr 0.01 keeps the two runs within float
#: rounding of each other (as in test_training's torchrun test).
SMALL = dict(dataset="shapes", shapes_size=32, image_size=32, train_images=32, eval_images=16, width=0.0625,
             batch_size=16, epochs=2, lr=0.01, dropout=0.0, aux_dropout=0.0, device="cpu", progress=False)


def small(**changes) -> TrainConfig:
    return TrainConfig(**{**SMALL, **changes})


def batches(loader, epoch):
    """The (index, augmentation seed) pairs of each batch ``loader`` gives in ``epoch``, without loading images."""
    loader.sampler.set_epoch(epoch)
    pairs = list(loader.sampler)
    return [pairs[i:i + loader.batch_size] for i in range(0, len(pairs), loader.batch_size)]


def test_each_process_loads_its_share_of_every_global_batch_and_of_the_validation_split():
    config = small()
    built = config.training_sets()
    one, _ = _loaders(config, Processes(), torch.device("cpu"), *built)
    shares = [_loaders(config, Processes(rank, 2, rank), torch.device("cpu"), *built) for rank in (0, 1)]
    assert [train_loader.batch_size for train_loader, _ in shares] == [8, 8]
    for epoch in (1, 2):
        whole = batches(one, epoch)
        first, second = (batches(train_loader, epoch) for train_loader, _ in shares)
        assert len(whole) == len(first) == len(second) == 2
        for step in range(2):  # the global batch of each step: the same images with the same augmentation seeds
            assert sorted(first[step] + second[step]) == sorted(whole[step])
    validated = [eval_loader.dataset.dataset.indices for _, eval_loader in shares]
    assert sorted([*validated[0], *validated[1]]) == list(range(16))


def _one_of_two(rank: int, port: int, config: TrainConfig, folder) -> None:
    """Process ``rank`` of a two-process run, as ``torchrun`` would start it; what it trained goes to
    ``folder/rank-N.pt``, an error's traceback to ``folder/rank-N.error``."""
    try:
        os.environ.update(WORLD_SIZE="2", RANK=str(rank), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                          MASTER_PORT=str(port))
        torch.set_num_threads(1)
        result = train(config, folder / "run")
        torch.save({"model": result.model.state_dict(), "averaged": result.averaged.state_dict(),
                    "history": result.history, "steps": result.steps}, folder / f"rank-{rank}.pt")
    except BaseException:
        (folder / f"rank-{rank}.error").write_text(traceback.format_exc())
        raise


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_processes_train_the_weights_and_log_the_metrics_of_one(tmp_path, monkeypatch):
    config = small()
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    fork = multiprocessing.get_context("fork")
    port = free_port()
    processes = [fork.Process(target=_one_of_two, args=(rank, port, config, tmp_path)) for rank in (0, 1)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=30)  # (it takes seconds: a process still running waits for the other forever)
        if process.is_alive():
            process.kill()
    errors = "".join(path.read_text() for path in tmp_path.glob("rank-*.error"))
    assert [process.exitcode for process in processes] == [0, 0], errors
    one = train(config)
    assert (tmp_path / "run" / "checkpoint.pt").exists()
    for rank in (0, 1):
        two = torch.load(tmp_path / f"rank-{rank}.pt", weights_only=True)
        for part, model in (("model", one.model), ("averaged", one.averaged)):
            for name, value in model.state_dict().items():
                torch.testing.assert_close(two[part][name], value, rtol=1e-4, atol=1e-5, msg=(rank, part, name))
        # the losses and hits are the whole batch's and the validation metrics the whole split's, not one share's
        for mine, theirs in zip(one.history, two["history"]):
            for key in ("train_loss_total", "train_loss_aux1", "train_top1", "val_loss", "val_top1", "val_top5",
                        "polyak_val_loss", "polyak_val_top5"):
                assert theirs[key] == pytest.approx(mine[key], rel=1e-4, abs=1e-6), (rank, key)
        assert [row["loss_main"] for row in two["steps"]] == pytest.approx([row["loss_main"] for row in one.steps],
                                                                           rel=1e-4)
    initial = build_model(config, 10).state_dict()  # the steps did move the weights
    assert (one.model.state_dict()["fc.weight"] - initial["fc.weight"]).abs().max() > 1e-3
