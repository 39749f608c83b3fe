"""Training on every device from a notebook (reproduce.training.launch): one process per GPU through torchrun, here
2 gloo processes on the CPU, taking the steps one process takes, resumable like an in-process run, with the
config crossing the process boundary as command-line flags and back."""

import dataclasses
import subprocess
import sys

import pytest
import torch
from torch import nn

from reproduce import cli
from reproduce.training import TrainConfig, TrainResult, ensemble, launch, train
from reproduce.training.launch import (PROCESSES_VARIABLE, config_flags, load_result, processes_for,
                                       train_on_all_devices)
from reproduce.training.loop import RunMismatchError, build_model

#: 64 images of 32 px, 4 steps of 16 an epoch. No randomness but the sample order (no augmentation, no dropout), and
#: lr 0.01, so that 2 processes stay within float rounding of 1 (as in test_training's 2-process test).
SMALL = dict(dataset="shapes", shapes_size=32, image_size=32, train_images=64, eval_images=32, width=0.25,
             batch_size=16, epochs=2, lr=0.01, crop=False, photometric=False, flip=False,
             random_interpolation=False, dropout=0.0, aux_dropout=0.0, device="cpu", progress=False)


def small(**changes) -> TrainConfig:
    return TrainConfig(**{**SMALL, **changes})


def weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


@pytest.fixture(autouse=True)
def _no_process_count_from_outside(monkeypatch):
    monkeypatch.delenv(PROCESSES_VARIABLE, raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)


def _no_launch(*args, **kwargs):
    raise AssertionError("no process was to be started")


@pytest.mark.slow
def test_two_processes_through_torchrun_train_what_one_process_trains_and_a_finished_run_comes_back(
        tmp_path, monkeypatch):
    config = small()
    two = train_on_all_devices(config, tmp_path / "two", processes=2)
    one = train(config, tmp_path / "one")
    assert isinstance(two, TrainResult) and two.config == config and two.out_dir == tmp_path / "two"
    assert [row["epoch"] for row in two.history] == [1, 2] and two.steps
    expected = weights(one.model)
    for name, value in weights(two.model).items():
        torch.testing.assert_close(value, expected[name], rtol=1e-4, atol=1e-5, msg=name)
    initial = weights(build_model(config, 10))  # the steps did move the weights
    assert (expected["fc.weight"] - initial["fc.weight"]).abs().max() > 1e-3
    assert two.averaged is not None and not two.model.training
    torch.testing.assert_close(two.averaged.fc.weight, one.averaged.fc.weight.detach().cpu(), rtol=1e-4, atol=1e-5)
    assert two.history[-1]["train_loss_total"] == pytest.approx(one.history[-1]["train_loss_total"], rel=1e-4)

    monkeypatch.setattr(launch, "_run", _no_launch)  # the run is finished: read back, nothing trained
    again = train_on_all_devices(config, tmp_path / "two", processes=2)
    assert all(torch.equal(a, b) for a, b in zip(weights(again.model).values(), weights(two.model).values()))
    assert again.history == two.history


def _in_this_process(commands):
    """A launcher that runs the command's ``reproduce train ...`` part in this process, as one process."""
    def run(command):
        commands.append(command)
        return cli.main(command[command.index("reproduce") + 1:])
    return run


def test_a_run_resumes_through_the_command_line_with_every_flag_given(tmp_path, monkeypatch):
    commands = []
    monkeypatch.setattr(launch, "_run", _in_this_process(commands))
    folder = tmp_path / "run"
    config = small(epochs=2)
    first = train_on_all_devices(config.replace(epochs=1), folder, processes=2)  # resume=True, nothing to resume
    assert len(first.history) == 1
    resumed = train_on_all_devices(config, folder, processes=2)  # the checkpoint's run, continued to epoch 2
    assert commands[0][:5] == [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    assert "--resume" not in commands[0]  # nothing to resume: the command line would refuse --resume
    assert commands[1][commands[1].index("--out"):][:3] == ["--out", str(folder), "--resume"]
    assert "--epochs=2" in commands[1] and "--no-crop" in commands[1] and "--lr=0.01" in commands[1]
    whole = train(config, tmp_path / "whole")  # the same process, uninterrupted: exactly the same weights
    assert [row["epoch"] for row in resumed.history] == [1, 2]
    assert all(torch.equal(a, b) for a, b in zip(weights(resumed.model).values(), weights(whole.model).values()))

    monkeypatch.setattr(launch, "_run", _no_launch)  # what train() refuses is refused before a process starts
    with pytest.raises(RunMismatchError, match="lr"):
        train_on_all_devices(config.replace(epochs=3, lr=0.02), folder, processes=2)
    with pytest.raises(FileExistsError, match="resume"):
        train_on_all_devices(config, folder, resume=False, processes=2)
    monkeypatch.setattr(launch, "_run", lambda command: 3)
    with pytest.raises(RuntimeError, match=r"exit code 3.*torch\.distributed\.run .*--nproc_per_node=2"):
        train_on_all_devices(config.replace(epochs=3), folder, processes=2)
    assert load_result(folder).history == resumed.history  # a failed child leaves the run as it was


def test_one_process_is_train_in_this_process(tmp_path, monkeypatch):
    monkeypatch.setattr(launch, "_run", _no_launch)
    monkeypatch.setattr(subprocess, "Popen", _no_launch)
    calls = []
    monkeypatch.setattr(launch, "train", lambda *args, **kwargs: calls.append((args, kwargs)) or "trained")
    config = small(extra={"note": "kept"})  # extra and no folder: fine in this process
    assert train_on_all_devices(config, tmp_path, processes=1) == "trained"
    assert train_on_all_devices(config, None, resume=False) == "trained"  # processes_for: 1 on the CPU
    assert calls == [((config, tmp_path), {"resume": True}), ((config, None), {"resume": False})]


def test_what_cannot_cross_to_other_processes_is_refused_by_name(tmp_path, monkeypatch):
    monkeypatch.setattr(launch, "_run", _no_launch)
    with pytest.raises(ValueError, match="extra"):
        train_on_all_devices(small(extra={"note": "lost"}), tmp_path, processes=2)
    with pytest.raises(ValueError, match="out_dir"):
        train_on_all_devices(small(), None, processes=2)
    with pytest.raises(ValueError, match="batch_size"):
        train_on_all_devices(small(batch_size=15), tmp_path, processes=2)
    with pytest.raises(ValueError, match="processes"):
        train_on_all_devices(small(), tmp_path, processes=0)


EVERYTHING_CHANGED = dict(
    dataset="cifar100", data_root="-data dir/c100", download=True, image_size=40, shapes_size=48, train_images=100,
    eval_images=20, data_seed=3, crop=False, crop_min_scale=0.25, photometric=False, random_interpolation=False,
    flip=False, stem="small", width=0.1 + 0.2, batch_norm=True, aux_batch_norm=True, branch5x5="2x3x3",
    blocks="plain", block_scale=0.3 + 0.01,
    aux_heads=False, dropout=0.1, aux_dropout=0.2, init="caffe", epochs=3, optimizer="adamw", batch_size=32, lr=1e-3,
    momentum=0.8, weight_decay=0.0, lr_schedule="poly", lr_gamma=0.5, lr_step_epochs=0.3, lr_power=1.0,
    warmup_epochs=0.5, aux_weight=0.0, label_smoothing=0.1, grad_clip=2.5, polyak="none", polyak_epochs=0.5, seed=-1,
    init_seed=7, steps_per_epoch=5, device="cpu", amp=False, channels_last=False, compile=True, compile_mode="reduce-overhead",
    num_workers=2, progress=False)


@pytest.mark.parametrize("config", [TrainConfig(), TrainConfig(**EVERYTHING_CHANGED),
                                    TrainConfig(**{**EVERYTHING_CHANGED, "amp": True, "channels_last": True})],
                         ids=["defaults", "everything-changed", "optional-booleans-true"])
def test_the_flags_of_a_config_parse_back_to_it(config):
    flags = config_flags(config)
    args = vars(cli.parser().parse_args(["train", "--out", "somewhere", *flags]))
    assert (args.pop("command"), args.pop("out"), args.pop("resume"), args.pop("book")) == ("train", "somewhere",
                                                                                             False, False)
    assert TrainConfig(**args) == config
    assert cli._given_flags(["train", *flags]) == {f.name for f in dataclasses.fields(TrainConfig)
                                                   if f.name != "extra" and getattr(config, f.name) is not None}


def test_the_changed_config_changes_every_field():  # so that the round trip above covers every flag
    default = TrainConfig()
    fields = {f.name for f in dataclasses.fields(TrainConfig)} - {"extra"}
    assert {name for name in fields if getattr(TrainConfig(**EVERYTHING_CHANGED), name) == getattr(default, name)} \
        == set()
    assert not any(flag.startswith(("--grad-clip", "--amp", "--no-amp", "--init-seed")) for flag in
                   config_flags(default))  # None: no flag, the command line's default
    with pytest.raises(ValueError, match="extra"):
        config_flags(default.replace(extra={"a": 1}))


def test_processes_for_counts_cuda_devices_and_honours_the_variable(monkeypatch):
    assert processes_for(small()) == 1
    if not torch.cuda.is_available():
        assert processes_for(small(device="auto")) == 1
    monkeypatch.setattr(launch, "resolve_device", lambda name: torch.device("cuda"))
    for count, expected in ((4, 4), (1, 1)):
        monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
        assert processes_for(small(device="cuda")) == expected
    monkeypatch.setenv(PROCESSES_VARIABLE, "2")
    assert processes_for(small()) == 2
    monkeypatch.setenv("WORLD_SIZE", "2")  # already one of a distributed run's processes
    assert processes_for(small()) == 1
    monkeypatch.delenv("WORLD_SIZE")
    for bad in ("0", "-1", "two", "1.5"):
        monkeypatch.setenv(PROCESSES_VARIABLE, bad)
        with pytest.raises(ValueError, match=PROCESSES_VARIABLE):
            processes_for(small())


def test_the_child_s_output_is_passed_through_and_its_exit_code_returned(capsys):
    code = launch._run([sys.executable, "-c", "import sys; print('to stdout'); print('\\rbar 50%', end='', "
                                              "file=sys.stderr); sys.exit(3)"])
    captured = capsys.readouterr()
    assert code == 3 and "to stdout" in captured.out and "\rbar 50%" in captured.err


def _fake_result(config, out_dir):
    return TrainResult(config, nn.Linear(2, 2), None, [{"epoch": 1}], [{"lr": 0.001}], out_dir)


@pytest.mark.parametrize("shared_epochs, datasets, out, expected", [
    (0, None, True, ["all", "all"]),
    (1, None, True, ["all", "here", "here"]),  # the members start from the shared run's weights
    (0, "given", True, ["here", "here"]),
    (0, None, False, ["here", "here"]),
])
def test_ensemble_members_train_on_all_devices_when_only_their_config_and_folder_define_them(
        tmp_path, monkeypatch, shared_epochs, datasets, out, expected):
    calls = []
    monkeypatch.setattr(ensemble, "train_on_all_devices", lambda config, out_dir, *, resume: calls.append("all")
                        or _fake_result(config, out_dir))
    monkeypatch.setattr(ensemble, "train", lambda config, out_dir, **kwargs: calls.append("here")
                        or _fake_result(config, out_dir))
    ensemble.train_ensemble(small(), 2, tmp_path if out else None, shared_epochs=shared_epochs, datasets=datasets)
    assert calls == expected


def test_a_run_read_back_comes_on_the_device_its_configuration_trains_on(tmp_path, monkeypatch):
    """What a multi-process run hands back is scored next (the Evaluation chapter's crops): its models come back on
    the device the device policy resolves for the run's configuration, not on the CPU whatever it trained on. "meta"
    stands in for a GPU this machine does not have."""
    config = small(epochs=1, train_images=16, eval_images=16)
    finished = train(config, tmp_path / "run")
    asked = []

    def policy(name):
        asked.append(name)
        return torch.device("meta")

    monkeypatch.setattr(launch, "resolve_device", policy)
    monkeypatch.setattr(launch, "_run", _no_launch)
    back = train_on_all_devices(config, tmp_path / "run", processes=2)  # finished: read back, no process started
    assert asked == ["cpu"] and back.history == finished.history
    assert {p.device.type for m in (back.model, back.averaged) for p in m.parameters()} == {"meta"}
    assert not back.model.training and not back.averaged.training
    load_result(tmp_path / "run", "cuda")  # a device asked for by name goes through the same policy
    assert asked == ["cpu", "cuda"]
    monkeypatch.undo()
    on_cpu = load_result(tmp_path / "run")  # its configuration's own device: the CPU here
    assert all(torch.equal(a, b) for a, b in zip(weights(on_cpu.model).values(), weights(finished.model).values()))


@pytest.mark.slow
def test_two_processes_through_torchrun_keep_the_crop_probabilities_that_one_process_computes(tmp_path, monkeypatch):
    """Table 3's scoring of two members on 2 processes (``score-test-split`` under torchrun, each process its share
    of the blocks) is read back by the notebook's call, which then scores nothing, and equals one process's."""
    from reproduce.evaluate import kept
    from reproduce.evaluate.kept import scoring_folder
    from reproduce.evaluate.table3 import score_test_split
    from reproduce.training.launch import score_on_all_devices

    members = [train(small(epochs=1, seed=seed), tmp_path / f"member-{seed}") for seed in (0, 1)]
    models = [member.best_model().eval() for member in members]
    scoring = dict(test_images=24, many_crop_images=6, crop_counts=[1, 10, 144])
    keep = scoring_folder(tmp_path / "crops", models, **scoring)
    assert score_on_all_devices(members, keep, weights="polyak", processes=2, **scoring)
    assert {path.name for path in keep.iterdir()} == {"1-crops", "10-crops", "144-crops"}

    def no_scoring(*args, **kwargs):
        raise AssertionError("everything was kept: nothing is to be scored again")

    monkeypatch.setattr(kept, "crop_probabilities", no_scoring)
    read, targets = score_test_split(models, members[0].config, **scoring, keep=keep)
    monkeypatch.undo()
    alone, alone_targets = score_test_split(models, members[0].config, **scoring)
    assert torch.equal(targets, alone_targets) and read.subset == alone.subset
    for crops in (1, 10, 144):
        torch.testing.assert_close(read.on_subset[crops].mean, alone.on_subset[crops].mean, rtol=0, atol=1e-6)
    for crops in (1, 10):
        torch.testing.assert_close(read.every_image[crops].mean, alone.every_image[crops].mean, rtol=0, atol=1e-6)
        torch.testing.assert_close(read.every_image[crops].max, alone.every_image[crops].max, rtol=0, atol=1e-6)
    assert score_on_all_devices(members, keep, weights="polyak", processes=1, **scoring) is False  # in the notebook
