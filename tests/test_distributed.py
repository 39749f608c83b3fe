"""DistributedDataParallel as the training loop uses it: N processes with batch B/N take the steps of one process
with batch B. Each process loads its share of every global batch (the same images, augmented alike, as one process
would), and a run of two gloo processes (forked from this one, so they start in a fraction of a second) ends with
the weights and metrics of a run of one. tests/test_training.py and tests/test_launch.py run the same under
``torchrun`` (slow tier)."""

import multiprocessing
import os
import socket
import traceback
from pathlib import Path

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


def run_two(target, *args, folder: Path, timeout: float = 30) -> None:
    """``target(rank, port, *args)`` in two forked processes (ranks 0 and 1, a free port for their process group);
    each writes an error's traceback to ``folder/rank-N.error``, which the assertion shows if one fails. (It takes
    seconds: a process still running after ``timeout`` waits for the other forever, and is killed.)"""
    fork = multiprocessing.get_context("fork")
    port = free_port()
    processes = [fork.Process(target=target, args=(rank, port, *args)) for rank in (0, 1)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=timeout)
        if process.is_alive():
            process.kill()
    errors = "".join(path.read_text() for path in Path(folder).glob("rank-*.error"))
    assert [process.exitcode for process in processes] == [0, 0], errors


#: The batch-normalized run is compared after one step, with a tolerance of its own: this tiny network (4 channels
#: in its first layers, maps of 1x1 in its last, batches of 16) amplifies rounding, so that one process alone on 1
#: thread and on 2 ends its first step up to 9e-5 apart (of a step of 4e-3) and its fourth 0.2 apart. With each
#: process normalizing over its own half of the batch the first step was 5e-3 (1 thread) to 2e-2 (2) away.
BATCH_NORM_ATOL = 5e-4
BATCH_NORM = {"batch_norm": True, "aux_batch_norm": True, "epochs": 1, "steps_per_epoch": 1}


#: A warm-up of the rate over the first steps (the large-batch rule, reproduce.training.schedule.scaled_to_batch).
WARM_UP = {"warmup_epochs": 1.5}


@pytest.mark.parametrize("norm", [{}, BATCH_NORM, WARM_UP], ids=["lrn", "batch-norm", "lrn-warm-up"])
def test_two_processes_train_the_weights_and_log_the_metrics_of_one(tmp_path, monkeypatch, norm):
    """With batch norm too: each process normalizes with the statistics of the global batch (every BatchNorm2d and
    the BN-auxiliary heads' BatchNorm1d), as one process with the whole batch does. With a warm-up, each process
    steps the rate as one process does."""
    config = small(**norm)
    atol = BATCH_NORM_ATOL if norm == BATCH_NORM else 1e-5
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    run_two(_one_of_two, config, tmp_path, folder=tmp_path)
    one = train(config)
    assert (tmp_path / "run" / "checkpoint.pt").exists()
    for rank in (0, 1):
        two = torch.load(tmp_path / f"rank-{rank}.pt", weights_only=True)
        for part, model in (("model", one.model), ("averaged", one.averaged)):
            for name, value in model.state_dict().items():
                torch.testing.assert_close(two[part][name], value, rtol=1e-4, atol=atol, msg=(rank, part, name))
        # the losses and hits are the whole batch's and the validation metrics the whole split's, not one share's
        for mine, theirs in zip(one.history, two["history"]):
            for key in ("train_loss_total", "train_loss_aux1", "train_top1", "val_loss", "val_top1", "val_top5",
                        "polyak_val_loss", "polyak_val_top5"):
                assert theirs[key] == pytest.approx(mine[key], rel=1e-4, abs=1e-6), (rank, key)
        assert [row["loss_main"] for row in two["steps"]] == pytest.approx([row["loss_main"] for row in one.steps],
                                                                           rel=1e-4)
        assert [row["lr"] for row in two["steps"]] == pytest.approx([row["lr"] for row in one.steps], rel=1e-12)
    initial = build_model(config, 10).state_dict()  # the steps did move the weights
    assert (one.model.state_dict()["fc.weight"] - initial["fc.weight"]).abs().max() > 1e-3


def _batch_norm_of_two(rank: int, port: int, x: torch.Tensor, weight: torch.Tensor, projection: torch.Tensor,
                       folder) -> None:
    """Process ``rank`` of two: the project's BatchNorm2d in training mode on its half of ``x``, its loss ``L_rank``
    the sum of the output times its half of ``projection`` over the global batch's size (so that ``L_0 + L_1`` is
    the whole batch's); what it computed goes to
    ``folder/bn-N.pt``, an error's traceback to ``folder/rank-N.error``."""
    import torch.distributed as dist

    from reproduce.models.blocks import BatchNorm2d

    try:
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        dist.init_process_group("gloo", rank=rank, world_size=2)
        norm = BatchNorm2d(x.size(1), eps=1e-3)
        norm.weight.data.copy_(weight)
        half = x[rank * len(x) // 2:(rank + 1) * len(x) // 2].clone().requires_grad_()
        y = norm(half)
        (y * projection[rank * len(x) // 2:(rank + 1) * len(x) // 2]).sum().div(len(x)).backward()
        torch.save({"y": y.detach(), "grad": half.grad, "weight_grad": norm.weight.grad,
                    "running": (norm.running_mean, norm.running_var)}, folder / f"bn-{rank}.pt")
        dist.destroy_process_group()
    except BaseException:
        (folder / f"rank-{rank}.error").write_text(traceback.format_exc())
        raise


def test_batch_norm_over_two_processes_normalizes_and_differentiates_as_over_the_whole_batch(tmp_path):
    """Each half of the batch in its own process, against torch's BatchNorm2d on the whole batch in one: the same
    outputs, running statistics and weight gradients (each process's own, DDP averages them), and input gradients
    of the global loss summed over the processes (each process's gradient of the statistics is both processes')."""
    torch.manual_seed(1)
    x, weight, projection = torch.randn(8, 4, 5, 5) * 3 + 1, torch.rand(4) + 0.5, torch.randn(8, 4, 5, 5)
    run_two(_batch_norm_of_two, x, weight, projection, tmp_path, folder=tmp_path)
    whole = torch.nn.BatchNorm2d(4, eps=1e-3)
    whole.weight.data.copy_(weight)
    inputs = x.clone().requires_grad_()
    y = whole(inputs)
    (y * projection).sum().div(len(x)).backward()
    for rank in (0, 1):
        got, part = torch.load(tmp_path / f"bn-{rank}.pt", weights_only=True), slice(4 * rank, 4 * rank + 4)
        torch.testing.assert_close(got["y"], y[part].detach(), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(got["grad"], inputs.grad[part], rtol=1e-4, atol=1e-6)  # d(L_0 + L_1)/dx
        torch.testing.assert_close(got["running"][0], whole.running_mean, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(got["running"][1], whole.running_var, rtol=1e-5, atol=1e-6)  # unbiased
        own = [torch.load(tmp_path / f"bn-{r}.pt", weights_only=True)["weight_grad"] for r in (0, 1)]
        torch.testing.assert_close(sum(own), whole.weight.grad, rtol=1e-5, atol=1e-6)  # what DDP sums (and halves)
