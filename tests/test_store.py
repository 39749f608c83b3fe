"""Runs kept by what they are: the Training chapter's network, the Evaluation chapter's first member and Beyond's
first row are one run when they are one network, trained once and reloaded by the others; two notebooks training
the same run at once do not train it twice."""

import threading
import time

import torch

from reproduce.training import TrainConfig, train
from reproduce.training import loop
from reproduce.checkpoints import run_lock
from reproduce.training.ensemble import member_configs
from reproduce.training.store import run_folder, run_key

TINY = dict(dataset="shapes", image_size=32, shapes_size=32, width=0.25, batch_norm=True, train_images=64,
            eval_images=32, batch_size=16, epochs=1, optimizer="adamw", lr=2e-3, device="cpu", progress=False)


def test_the_key_is_what_the_run_computes():
    main = TrainConfig(**TINY)
    first, second = member_configs(main, 2)
    assert run_key(main) == run_key(first)  # init_seed None is the seed's initialization
    assert run_key(second) != run_key(main)  # another order of the images
    for execution in (dict(device="auto"), dict(num_workers=2), dict(progress=True), dict(data_root="/elsewhere")):
        assert run_key(main.replace(**execution)) == run_key(main), execution
    for recipe in (dict(epochs=2), dict(lr=1e-3), dict(init_seed=5), dict(crop=False), dict(lr_schedule="poly")):
        assert run_key(main.replace(**recipe)) != run_key(main), recipe
    assert run_folder("/runs", main).parent.as_posix() == "/runs"


def test_a_network_trained_by_one_notebook_is_reloaded_by_the_next(tmp_path, monkeypatch):
    main = TrainConfig(**TINY)
    trained = train(main, run_folder(tmp_path, main), resume=True)
    member = member_configs(main, 1)[0]
    assert run_folder(tmp_path, member) == run_folder(tmp_path, main)

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(loop, "train_step", no_training)
    reloaded = train(member.replace(num_workers=0, progress=False), run_folder(tmp_path, member), resume=True)
    assert reloaded.history == trained.history
    for name, value in trained.model.state_dict().items():
        assert torch.equal(value, reloaded.model.state_dict()[name]), name


def test_a_second_process_waits_for_the_run_it_would_share(tmp_path):
    events = []

    def first():
        with run_lock(tmp_path / "run"):
            events.append("first holds it")
            time.sleep(0.5)
            events.append("first done")

    holder = threading.Thread(target=first)
    holder.start()
    while not events:
        time.sleep(0.01)
    with run_lock(tmp_path / "run"):
        events.append("second holds it")
    holder.join()
    assert events == ["first holds it", "first done", "second holds it"]


def test_the_ensembles_first_member_is_the_training_chapters_run(tmp_path, monkeypatch):
    from reproduce.training.ensemble import load_members, train_ensemble

    main = TrainConfig(**TINY)
    trained = train(main, run_folder(tmp_path / "runs", main), resume=True)
    calls = []
    real_step = loop.train_step

    def counting_step(*args, **kwargs):
        calls.append(1)
        return real_step(*args, **kwargs)

    monkeypatch.setattr(loop, "train_step", counting_step)
    results = train_ensemble(main, 2, tmp_path / "ensemble", run_root=tmp_path / "runs")
    assert len(calls) == 4  # member 2's one epoch of 4 steps; member 1 was reloaded
    for name, value in trained.model.state_dict().items():
        assert torch.equal(value, results[0].model.state_dict()[name]), name
    links = sorted((tmp_path / "ensemble").iterdir())
    assert [p.name for p in links] == ["member-1", "member-2"] and all(p.is_symlink() for p in links)
    assert links[0].resolve() == run_folder(tmp_path / "runs", main).resolve()
    assert len(load_members(tmp_path / "ensemble")) == 2  # the Branches chapter reloads them through the links
