"""The training recipe of Section 6: the loss, the schedule, Polyak averaging, repeatable seeds, checkpoints that
survive interruption, a non-finite loss stopping the run, and distributed runs equal to single-process ones."""

import dataclasses
import json
import math
import os
import subprocess
import sys
from types import SimpleNamespace
from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from reproduce import data
from reproduce.models import GoogLeNetOutputs
from reproduce.training import distributed, loop
from reproduce.training.loop import build_model
from reproduce.training import (NonFiniteLossError, TrainConfig, compressed_step_epochs, googlenet_loss,
                                load_trained, paper_schedule, score_split, train)

#: A run small enough for a test: 64 images of 32 px, 4 steps an epoch, a quarter-width network.
TINY = dict(dataset="shapes", shapes_size=32, image_size=32, train_images=64, eval_images=32, width=0.125,
            batch_size=16, epochs=3, lr=0.02, progress=False)


def tiny(**changes) -> TrainConfig:
    return TrainConfig(**{**TINY, **changes})


def test_total_loss_is_main_plus_0_3_times_each_auxiliary_loss():
    targets = torch.tensor([0, 2, 1])
    outputs = GoogLeNetOutputs(torch.randn(3, 4), torch.randn(3, 4), torch.randn(3, 4))
    paper = TrainConfig()  # the weights a run takes: its config's, whose defaults are the paper's
    total, parts = googlenet_loss(outputs, targets, aux_weight=paper.aux_weight, label_smoothing=paper.label_smoothing)
    expected = sum(w * F.cross_entropy(o, targets) for w, o in zip((1, 0.3, 0.3), outputs))
    assert torch.allclose(total, expected) and set(parts) == {"main", "aux1", "aux2"}
    smoothed, _ = googlenet_loss(outputs.logits, targets, aux_weight=0.3, label_smoothing=0.1)
    assert torch.allclose(smoothed, F.cross_entropy(outputs.logits, targets, label_smoothing=0.1))


def test_learning_rate_drops_4_percent_every_8_epochs_and_compresses():
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = paper_schedule(optimizer, steps_per_epoch=10)
    lrs = []
    for _ in range(170):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs[79] == 1.0 and math.isclose(lrs[80], 0.96) and math.isclose(lrs[160], 0.96 ** 2)
    assert compressed_step_epochs(10, 250) == pytest.approx(0.32)


@pytest.mark.parametrize("change, name", [(dict(dataset="mnist"), "dataset"), (dict(stem="tiny"), "stem"),
                                          (dict(polyak="swa"), "polyak"), (dict(lr=0), "lr"),
                                          (dict(dropout=1.5), "dropout"), (dict(dataset="cifar10"), "data_root"),
                                          (dict(compile_mode="cuda-graphs"), "compile_mode")])
def test_bad_options_are_rejected_by_name(change, name):
    with pytest.raises(ValueError, match=name):
        tiny(**change)


def test_the_same_seed_gives_the_same_metrics_and_another_seed_does_not():
    first, second = train(tiny(epochs=2)), train(tiny(epochs=2))
    assert first.history[-1]["val_loss"] == second.history[-1]["val_loss"]
    assert all(torch.equal(a, b) for a, b in zip(first.model.state_dict().values(),
                                                 second.model.state_dict().values()))
    assert train(tiny(epochs=2, seed=1)).history[-1]["val_loss"] != first.history[-1]["val_loss"]


def test_ensemble_members_share_the_initialization_and_differ_in_the_order_of_the_images():
    first, second = tiny(seed=1, init_seed=7), tiny(seed=2, init_seed=7)
    for a, b in zip(build_model(first, 10).state_dict().values(), build_model(second, 10).state_dict().values()):
        assert torch.equal(a, b)
    assert not torch.equal(build_model(tiny(seed=1), 10).fc.weight, build_model(first, 10).fc.weight)
    one, two = train(first.replace(epochs=1)), train(second.replace(epochs=1))
    assert not torch.equal(one.model.fc.weight, two.model.fc.weight)


class InterruptAfter(torch.utils.data.Dataset):
    """The train split, which raises KeyboardInterrupt (a user's Ctrl-C) at its n-th item."""

    def __init__(self, dataset, n):
        self.dataset, self.n, self.calls, self.classes = dataset, n, 0, dataset.classes

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt
        return self.dataset[index]


def tiny_datasets(config):
    return data.datasets(config.dataset, image_size=config.image_size, shapes_size=config.shapes_size,
                         train_images=config.train_images, eval_images=config.eval_images)


@pytest.mark.parametrize("optimizer, schedule", [("sgd", "step"), ("adamw", "step"), ("sgd", "poly")])
def test_a_resumed_run_ends_with_exactly_the_weights_of_an_uninterrupted_one(tmp_path, optimizer, schedule):
    config = tiny(optimizer=optimizer, lr_schedule=schedule)
    whole = train(config, tmp_path / "whole", datasets=tiny_datasets(config))
    train_set, eval_set = tiny_datasets(config)
    with pytest.raises(KeyboardInterrupt):  # in the middle of epoch 3
        train(config, tmp_path / "cut", datasets=(InterruptAfter(train_set, 64 * 2 + 20), eval_set))
    saved = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)
    assert saved["epoch"] == 2
    resumed = train(config, tmp_path / "cut", resume=True, datasets=tiny_datasets(config))
    assert_same_run(resumed, whole)


def assert_same_run(resumed, whole):
    """The raw and Polyak-averaged weights equal exactly, and so do the metrics (all but wall time)."""
    for part in ("model", "averaged"):
        for name, value in getattr(whole, part).state_dict().items():
            assert torch.equal(value, getattr(resumed, part).state_dict()[name]), (part, name)

    def metrics(history):
        return [{k: v for k, v in row.items() if k not in ("train_seconds", "images_per_second")} for row in history]

    assert metrics(resumed.history) == metrics(whole.history)


class SignalAt(InterruptAfter):
    """The train split, which sends this process ``signal`` (a preemption's SIGTERM, a Ctrl-C's SIGINT) while it
    loads its n-th item: in the middle of a step, as a real signal arrives."""

    def __init__(self, dataset, n, signal):
        super().__init__(dataset, n)
        self.signal = signal

    def __getitem__(self, index):
        self.calls += 1
        if self.calls == self.n:
            os.kill(os.getpid(), self.signal)
        return self.dataset[index]


@pytest.mark.parametrize("signal_name, workers", [("SIGTERM", 0), ("SIGINT", 0), ("SIGTERM", 2)])
def test_a_signal_mid_epoch_saves_the_step_and_resuming_ends_as_an_uninterrupted_run(tmp_path, monkeypatch,
                                                                                     signal_name, workers):
    import signal

    number = getattr(signal, signal_name)
    config = tiny(optimizer="adamw", lr=2e-3, num_workers=workers)
    whole = train(config, tmp_path / "whole", datasets=tiny_datasets(config))
    train_set, eval_set = tiny_datasets(config)
    saves = []
    real_save = loop.checkpoints.save

    def save_and_signal_again(state, path):  # a second signal while the step is saved changes nothing
        saves.append(state["partial"])
        if state["partial"] is not None:
            os.kill(os.getpid(), number)
        real_save(state, path)

    monkeypatch.setattr(loop.checkpoints, "save", save_and_signal_again)
    # 4 steps of 16 an epoch: item 64 + 20 is loaded in epoch 2's second step (in the main process, or a worker's)
    cut = SignalAt(train_set, 64 + 20, number) if workers == 0 else train_set
    if workers:  # a worker cannot signal its parent in a way the test controls: the signal comes from a step
        real_step = loop.train_step
        count = {"steps": 0}

        def step_then_signal(*args, **kwargs):
            count["steps"] += 1
            if count["steps"] == 4 + 2:
                os.kill(os.getpid(), number)
            return real_step(*args, **kwargs)

        monkeypatch.setattr(loop, "train_step", step_then_signal)
    before = signal.getsignal(number)  # (a pytest-xdist worker ignores SIGINT)
    with pytest.raises(loop.TrainingStopped, match=rf"{signal_name} stopped the run in epoch 2 after step 2 of 4; "
                                                   rf"it is saved in .*--resume") as stopped:
        train(config, tmp_path / "cut", datasets=(cut, eval_set))
    assert stopped.value.signal == number
    assert signal.getsignal(number) == before  # the handlers are put back
    monkeypatch.undo()
    saved = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)
    assert saved["epoch"] == 1 and (saved["partial"]["epoch"], saved["partial"]["step"]) == (2, 2)
    assert [p is None for p in saves] == [True, False]  # epoch 1's checkpoint, then the step's
    resumed = train(config, tmp_path / "cut", resume=True, datasets=tiny_datasets(config))
    assert_same_run(resumed, whole)
    assert resumed.steps == whole.steps
    assert torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)["partial"] is None


def test_the_command_line_says_how_to_resume_a_stopped_run(tmp_path, monkeypatch, capsys):
    import signal

    from reproduce.cli import main

    real_step = loop.train_step
    calls = {"n": 0}

    def step_then_signal(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return real_step(*args, **kwargs)

    monkeypatch.setattr(loop, "train_step", step_then_signal)
    options = ["--shapes-size", "32", "--image-size", "32", "--train-images", "64", "--eval-images", "32",
               "--width", "0.125", "--batch-size", "16", "--epochs", "2", "--no-progress"]
    assert main(["train", "--out", str(tmp_path), *options]) == 128 + signal.SIGTERM
    assert (f"SIGTERM stopped the run in epoch 1 after step 2 of 4; it is saved in {tmp_path}: continue it with "
            f"`python -m reproduce train --out {tmp_path} --resume`") in capsys.readouterr().err
    monkeypatch.undo()
    assert main(["train", "--out", str(tmp_path), "--resume", "--no-progress"]) == 0
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["epoch"] == 2


def test_adamw_replaces_sgd_only_when_asked():
    sgd, adamw = train(tiny(epochs=1)), train(tiny(epochs=1, optimizer="adamw", lr=2e-3, weight_decay=0.05))
    assert sgd.history[-1]["val_loss"] != adamw.history[-1]["val_loss"]
    from reproduce.training.loop import make_optimizer

    made = make_optimizer(tiny(optimizer="adamw", lr=2e-3, weight_decay=0.05), [torch.zeros(1)])
    assert isinstance(made, torch.optim.AdamW) and made.defaults["weight_decay"] == 0.05
    assert isinstance(make_optimizer(tiny(), [torch.zeros(1)]), torch.optim.SGD)
    with pytest.raises(ValueError, match="optimizer"):
        tiny(optimizer="adam")


def test_score_is_the_accuracy_on_the_named_split():
    config = tiny(epochs=1)
    model = train(config).model
    scored = score_split(model, config, "test")
    test_set = data.evaluation_set("shapes", "test", image_size=32, shapes_size=32)
    images = torch.stack([test_set[i][0] for i in range(len(test_set))])
    labels = torch.tensor([test_set[i][1] for i in range(len(test_set))])
    with torch.no_grad():
        logits = model.eval()(images)
    assert len(test_set) == 2000
    assert scored["top1"] == pytest.approx((logits.argmax(1) == labels).float().mean().item())
    assert scored["loss"] == pytest.approx(F.cross_entropy(logits, labels).item(), rel=1e-4)


def test_score_uses_the_geometry_the_run_trained_with(monkeypatch):
    class Stop(Exception):
        pass

    asked = {}

    def evaluation_set(*args, **options):
        asked.update(options)
        raise Stop

    monkeypatch.setattr(data, "evaluation_set", evaluation_set)
    for crop in (True, False):
        with pytest.raises(Stop):
            score_split(torch.nn.Identity(), tiny(crop=crop), "test")
        assert asked["crop"] is crop


def test_run_writes_history_and_checkpoint_and_loads_both_weights(tmp_path):
    result = train(tiny(), tmp_path)
    csv = pd.read_csv(tmp_path / "history.csv")
    assert list(csv["epoch"]) == [1, 2, 3]
    assert {"train_loss_main", "train_loss_aux1", "train_loss_aux2", "val_top1", "val_top5",
            "polyak_val_top1"} <= set(csv.columns)
    assert json.loads((tmp_path / "history.json").read_text())["config"]["width"] == 0.125
    assert len(pd.read_csv(tmp_path / "steps.csv")) == 3  # one record per 10 steps or end of epoch
    polyak, state = load_trained(tmp_path)
    raw, _ = load_trained(tmp_path, which="raw")
    assert state["epoch"] == 3 and state["classes"][0] == "disk"
    for name, value in result.model.state_dict().items():
        assert torch.equal(value, raw.state_dict()[name])
    assert not torch.equal(polyak.fc.weight, raw.fc.weight)  # the average lags the raw weights
    assert torch.equal(polyak.fc.weight, result.averaged.fc.weight)


def test_a_run_is_never_overwritten_and_only_resumed_with_the_same_options(tmp_path):
    train(tiny(epochs=1), tmp_path)
    with pytest.raises(FileExistsError, match="resume"):
        train(tiny(epochs=1), tmp_path)
    with pytest.raises(ValueError, match="lr"):
        train(tiny(epochs=2, lr=0.5), tmp_path, resume=True)
    assert len(train(tiny(epochs=2), tmp_path, resume=True).history) == 2


def test_a_checkpoint_from_before_an_option_existed_resumes_with_its_default(tmp_path):
    train(tiny(epochs=1), tmp_path)
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    del saved["config"]["aux_batch_norm"]  # as written before the option was added
    torch.save(saved, tmp_path / "checkpoint.pt")
    assert len(train(tiny(epochs=2), tmp_path, resume=True).history) == 2
    with pytest.raises(ValueError, match="aux_batch_norm: False -> True"):
        train(tiny(epochs=3, aux_batch_norm=True), tmp_path, resume=True)


def test_a_checkpoint_from_before_the_lr_schedule_existed_resumes_with_the_step_schedule(tmp_path):
    config = tiny(epochs=1, lr_step_epochs=0.5)  # a decay every 2 of the 4 steps of an epoch
    train(config, tmp_path)
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    del saved["config"]["lr_schedule"], saved["config"]["lr_power"]  # as written before the options were added
    torch.save(saved, tmp_path / "checkpoint.pt")
    resumed = train(config.replace(epochs=2), tmp_path, resume=True)
    assert resumed.history[1]["lr"] == pytest.approx(0.02 * 0.96 ** 2)
    with pytest.raises(ValueError, match="lr_schedule: 'step' -> 'poly'"):
        train(config.replace(epochs=3, lr_schedule="poly"), tmp_path, resume=True)


def test_a_poly_run_resumes_only_with_the_epochs_its_schedule_spans(tmp_path):
    config = tiny(epochs=1, lr_schedule="poly")
    train(config, tmp_path)
    with pytest.raises(ValueError, match="epochs 1 -> 2.*poly"):
        train(config.replace(epochs=2), tmp_path, resume=True)


class NaNAfter(InterruptAfter):
    def __getitem__(self, index):
        self.calls += 1
        image, label = self.dataset[index]
        return (image * float("nan") if self.calls > self.n else image), label


def test_a_non_finite_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    config = tiny()
    train_set, eval_set = tiny_datasets(config)
    with pytest.raises(NonFiniteLossError, match="epoch 2.*epoch 1's checkpoint"):
        train(config, tmp_path, datasets=(NaNAfter(train_set, 64 + 8), eval_set))
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert saved["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in saved["model"].values() if v.is_floating_point())


def run_cli(args, nproc=None, timeout=300):
    command = [sys.executable, "-m", "reproduce", "train", *args]
    if nproc:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
                   "-m", "reproduce", "train", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=Path(__file__).parent.parent)


@pytest.mark.slow
def test_a_process_that_dies_is_restarted_by_torchrun_and_the_run_ends_as_an_uninterrupted_one(tmp_path):
    """Two gloo processes on the CPU under ``torchrun --max-restarts=1``; the second dies in the middle of epoch 2
    (tests/die_once.py). torchrun restarts both with the same command line, which continues from epoch 1's
    checkpoint: the run ends with exactly the weights of an uninterrupted two-process run."""
    args = ["--dataset", "shapes", "--shapes-size", "32", "--image-size", "32", "--train-images", "64",
            "--eval-images", "32", "--width", "0.125", "--batch-size", "16", "--epochs", "3", "--lr", "0.01",
            "--no-crop", "--no-photometric", "--no-random-interpolation", "--no-progress"]
    whole = run_cli(args + ["--out", str(tmp_path / "whole")], nproc=2)
    assert whole.returncode == 0, whole.stderr[-3000:]
    marker = tmp_path / "died"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "--max-restarts=1", str(Path(__file__).parent / "die_once.py"), *args, "--out", str(tmp_path / "cut")]
    # the restarted processes must not read the first attempt's addresses from a store shared with torchrun's
    # rendezvous (pytorch/pytorch#135712): what the README's cluster command sets too
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DIE_ONCE_MARKER": str(marker),
           "TORCH_DISABLE_SHARE_RDZV_TCP_STORE": "1"}
    restarted = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env,
                               cwd=Path(__file__).parent.parent)
    assert restarted.returncode == 0, restarted.stderr[-3000:]
    assert marker.exists()  # it did die once
    one = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=True)
    two = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)
    assert one["epoch"] == two["epoch"] == 3
    for part in ("model", "averaged"):
        for name, value in one[part].items():
            assert torch.equal(two[part][name], value), (part, name)
    assert [row["val_loss"] for row in one["history"]] == [row["val_loss"] for row in two["history"]]


@pytest.mark.slow
def test_two_processes_take_the_same_steps_as_one_with_the_same_global_batch(tmp_path):
    # No randomness but the sample order, which both runs share: no augmentation, no dropout. The gradients of the
    # two differ by float rounding (the order of the all-reduce's sums); at lr 0.01 that stays at 1e-8 over the 8
    # steps, while at lr 0.05 on this data the early steps amplify it to 1e-3.
    args = ["--dataset", "shapes", "--shapes-size", "32", "--image-size", "32", "--train-images", "64",
            "--eval-images", "32", "--width", "0.125", "--batch-size", "16", "--epochs", "2", "--lr", "0.01",
            "--no-crop", "--no-photometric", "--no-flip", "--no-random-interpolation", "--dropout", "0",
            "--aux-dropout", "0", "--no-progress"]
    single = run_cli(args + ["--out", str(tmp_path / "one")])
    assert single.returncode == 0, single.stderr[-3000:]
    double = run_cli(args + ["--out", str(tmp_path / "two")], nproc=2)
    assert double.returncode == 0, double.stderr[-3000:]
    one = torch.load(tmp_path / "one" / "checkpoint.pt", weights_only=True)
    two = torch.load(tmp_path / "two" / "checkpoint.pt", weights_only=True)
    assert one["epoch"] == two["epoch"] == 2
    for name, value in one["model"].items():
        torch.testing.assert_close(two["model"][name], value, rtol=1e-4, atol=1e-5, msg=name)
    initial = build_model(TrainConfig.from_dict(one["config"]), 10).state_dict()  # the steps did move the weights
    assert (one["model"]["fc.weight"] - initial["fc.weight"]).abs().max() > 1e-3
    assert one["history"][0]["val_loss"] == pytest.approx(two["history"][0]["val_loss"], rel=1e-4)
    # the training losses logged are the whole batch's, not one process's half
    assert one["history"][0]["train_loss_total"] == pytest.approx(two["history"][0]["train_loss_total"], rel=1e-5)
    assert one["steps"][0]["loss_main"] == pytest.approx(two["steps"][0]["loss_main"], rel=1e-5)
    assert not (tmp_path / "two" / ".checkpoint.pt.tmp").exists()


class Stop(Exception):
    pass


# The first barrier waits until the first process holds the run (checkpoint.run_lock); then the first process builds
# the data sets while the others wait at the second.
@pytest.mark.parametrize("rank, order", [(0, ["barrier", "build", "barrier"]), (1, ["barrier", "barrier", "build"])])
def test_the_first_process_builds_and_downloads_the_data_sets_before_the_others(monkeypatch, rank, order):
    calls = []
    monkeypatch.setattr(distributed, "start", lambda device_type: distributed.Processes(rank, 2, rank))
    monkeypatch.setattr(distributed, "barrier", lambda processes: calls.append("barrier"))

    built = tiny_datasets(tiny())

    def datasets(*args, **options):
        calls.append("build")
        assert options["download"] is True
        return built

    def loaders(*args):
        raise Stop  # no process group here to go further with

    monkeypatch.setattr(data, "datasets", datasets)
    monkeypatch.setattr(loop, "_loaders", loaders)
    with pytest.raises(Stop):
        train(tiny(download=True))
    assert calls == order


def test_every_process_waits_for_each_epoch_s_checkpoint(tmp_path, monkeypatch):
    written = []  # the epoch of the checkpoint on disk at each barrier
    monkeypatch.setattr(distributed, "barrier", lambda processes: written.append(
        torch.load(tmp_path / "checkpoint.pt", weights_only=True)["epoch"]
        if (tmp_path / "checkpoint.pt").exists() else None))
    train(tiny(epochs=2), tmp_path)
    # once the first process holds the run, after the data sets are built, then after each epoch's checkpoint
    assert written == [None, None, 1, 2]


@pytest.mark.slow
def test_cli_rejects_bad_arguments_by_name_with_the_valid_choices(tmp_path):
    result = run_cli(["--out", str(tmp_path), "--dataset", "mnist"])
    assert result.returncode == 2
    assert "--dataset" in result.stderr and "shapes" in result.stderr and "cifar100" in result.stderr
    result = run_cli(["--out", str(tmp_path), "--stem", "huge"])
    assert result.returncode == 2 and "--stem" in result.stderr and "imagenet" in result.stderr
    result = run_cli(["--out", str(tmp_path), "--dataset", "imagefolder"])
    assert result.returncode == 2 and "data_root" in result.stderr


@pytest.mark.slow
def test_cli_resume_continues_with_the_runs_own_options(tmp_path):
    from reproduce.cli import main

    options = ["--shapes-size", "32", "--image-size", "32", "--train-images", "64", "--eval-images", "32",
               "--width", "0.125", "--batch-size", "16", "--lr", "0.02", "--no-progress"]
    assert main(["train", "--out", str(tmp_path), *options, "--epochs", "1"]) == 0
    assert main(["train", "--out", str(tmp_path), "--resume", "--epochs", "2", "--no-progress"]) == 0
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert saved["epoch"] == 2 and saved["config"]["width"] == 0.125 and saved["config"]["epochs"] == 2
    assert main(["train", "--out", str(tmp_path), "--resume", "--epochs", "3", "--width", "0.25"]) == 2  # refused


def test_cli_resume_on_a_folder_with_no_run_is_an_error_that_names_it(tmp_path, capsys):
    from reproduce.cli import main

    typo = tmp_path / "runs" / "tpyo"
    assert main(["train", "--out", str(typo), "--resume", "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert f"--resume: {typo} holds no run to continue (no checkpoint.pt there)" in error
    assert not typo.exists()  # nothing started, nothing written


def test_cli_help_describes_every_option_once_with_its_default():
    from reproduce.cli import parser

    train_parser = parser()._subparsers._group_actions[0].choices["train"]
    text = " ".join(train_parser.format_help().split())
    assert ("--optimizer {sgd,adamw} Section 6: asynchronous SGD with momentum; see OPTIMIZER_CHOICES "
            "(default: sgd)") in text
    assert "decreasing the learning rate by 4% every 8 epochs" in text  # a comment with a percent sign
    for action in train_parser._actions[1:]:
        assert text.count(f"{action.option_strings[0]} ") >= 1
    assert text.count("(default:") == len(train_parser._actions) - 1  # every flag but --help, once
    for field in dataclasses.fields(TrainConfig):  # each flag's help is its field's (TrainConfig's metadata)
        if field.name != "extra":
            assert " ".join(field.metadata["help"].split()) in text, field.name


def test_cli_train_book_starts_from_the_books_config_and_the_flags_given_change_it(tmp_path, monkeypatch):
    import reproduce.training
    from reproduce.cli import main
    from reproduce.training import BOOK_CONFIG

    trained = []  # what the command would train: the config only (the run itself is tested elsewhere)
    monkeypatch.setattr(reproduce.training, "train",
                        lambda config, out, resume: trained.append(config) or SimpleNamespace(history=[]))
    assert main(["train", "--book", "--out", str(tmp_path), "--epochs", "3", "--no-flip"]) == 0
    assert trained == [BOOK_CONFIG.replace(epochs=3, flip=False)]
    assert main(["train", "--out", str(tmp_path), "--epochs", "3"]) == 0  # without --book: TrainConfig's defaults
    assert trained[1] == TrainConfig(epochs=3)


def _damage(path):
    path.write_bytes(path.read_bytes()[:300])  # a JPEG whose copy did not finish


def test_an_unreadable_training_image_is_skipped_named_and_counted(tmp_path, monkeypatch, capsys):
    from reproduce.data import formats, real

    root = formats.write_image_folder(tmp_path / "data", classes=2, train_per_class=16, val_per_class=4)
    images = sorted((root / "train").rglob("*.JPEG"))
    config = tiny(dataset="imagefolder", data_root=str(root), image_size=32, batch_size=8, epochs=2, crop=False,
                  photometric=False, random_interpolation=False, train_images=None, eval_images=None)
    _damage(images[20])
    monkeypatch.setattr(real, "MAX_UNREADABLE_SHARE", 0.1)  # 3 of the 32 images may be skipped
    result = train(config, tmp_path / "run")
    assert len(result.history) == 2  # the run completed
    for row in result.history:  # named in every epoch's results, with its cause
        assert [item.split(": ")[0] for item in row["unreadable_images"]] == [str(images[20])]
    assert f"skipped: {images[20]}: cannot read the image" in capsys.readouterr().out
    saved = json.loads((tmp_path / "run" / "history.json").read_text())
    assert saved["history"][0]["unreadable_images"] == result.history[0]["unreadable_images"]
    for image in images[21:25]:  # 5 of 32: more than the share, stopped with the count
        _damage(image)
    with pytest.raises(real.TooManyUnreadableImagesError, match=r"4 images of the train split cannot be read, more "
                                                                r"than the 10.00% of its 32"):
        train(config, tmp_path / "too-many")


def test_a_train_split_whose_first_images_are_unreadable_stops_before_any_work(tmp_path):
    from reproduce.data import formats, real

    root = formats.write_image_folder(tmp_path / "data", classes=2, train_per_class=8, val_per_class=2)
    for image in sorted((root / "train").rglob("*.JPEG")):
        _damage(image)
    config = tiny(dataset="imagefolder", data_root=str(root), image_size=32, batch_size=8, crop=False,
                  train_images=None, eval_images=None)
    with pytest.raises(real.TooManyUnreadableImagesError, match="the first 8 images cannot be read, so the run did "
                                                                "not start"):
        train(config, tmp_path / "run")
    assert not (tmp_path / "run" / "checkpoint.pt").exists()
