"""Section 7's ensembles: members that share the initialization and differ in the order of the images, trained one
after another (resumable) or stacked in one vectorized step that does the same arithmetic."""

import copy

import pytest
import torch

from reproduce.models import googlenet
from reproduce.training import TrainConfig, load_trained, train
from reproduce.training.ensemble import StackedEnsemble, load_members, member_configs, train_ensemble
from reproduce.training.loop import googlenet_loss, make_optimizer

TINY = dict(dataset="shapes", shapes_size=32, image_size=32, train_images=64, eval_images=32, width=0.125,
            batch_size=16, epochs=1, lr=0.02, progress=False)


def test_members_differ_only_in_seed_and_share_the_initialization():
    config = TrainConfig(**TINY, seed=5)
    members = member_configs(config, 3)
    assert [m.seed for m in members] == [5, 6, 7] and {m.init_seed for m in members} == {5}
    assert all(m.replace(seed=0, init_seed=None) == config.replace(seed=0) for m in members)
    assert {m.init_seed for m in member_configs(config.replace(init_seed=11), 2)} == {11}
    with pytest.raises(ValueError, match="members"):
        member_configs(config, 0)


def test_members_with_their_own_initialization_are_plain_seeds():
    """Without a shared initialization member k is the run of seed ``seed + k`` itself (the Training chapter's
    GoogLeNet seeds are then the ensemble's first members, trained once)."""
    from reproduce.training.loop import effective_init_seed
    from reproduce.training.store import run_key

    config = TrainConfig(**TINY, seed=5)
    members = member_configs(config, 3, shared_init=False)
    assert [effective_init_seed(m.to_dict()) for m in members] == [5, 6, 7]
    assert [run_key(m) for m in members] == [run_key(config.replace(seed=s)) for s in (5, 6, 7)]


def test_train_ensemble_keeps_each_member_and_loads_finished_ones(tmp_path):
    config = TrainConfig(**TINY)
    first = train_ensemble(config, 2, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["member-1", "member-2"]
    assert not torch.equal(first[0].model.fc.weight, first[1].model.fc.weight)
    again = train_ensemble(config, 2, tmp_path)  # nothing left to train: the saved members come back
    for a, b in zip(first, again):
        assert a.history == b.history
        assert all(torch.equal(x, y) for x, y in zip(a.model.state_dict().values(), b.model.state_dict().values()))
    loaded = load_members(tmp_path)  # as another notebook reuses them
    assert len(loaded) == 2 and not loaded[0].training
    assert all(torch.equal(m.fc.weight, r.model.fc.weight) for m, r in zip(loaded, first))


def test_load_members_refuses_an_unfinished_member_and_an_empty_folder(tmp_path):
    config = TrainConfig(**TINY)
    train_ensemble(config, 1, tmp_path)
    with pytest.raises(FileNotFoundError, match="no trained members"):
        load_members(tmp_path / "elsewhere")
    saved = torch.load(tmp_path / "member-1" / "checkpoint.pt", weights_only=True)
    saved["config"]["epochs"] = 3  # as if stopped after its first of three epochs
    torch.save(saved, tmp_path / "member-1" / "checkpoint.pt")
    with pytest.raises(ValueError, match="after epoch 1 of 3"):
        load_members(tmp_path)


@pytest.mark.parametrize("aux_heads", [True, False])
def test_a_stacked_step_is_what_each_member_s_own_step_does(aux_heads):
    config = TrainConfig(**TINY, batch_norm=True, aux_heads=aux_heads, optimizer="sgd", dropout=0.0,
                         aux_dropout=0.0)
    torch.manual_seed(0)
    models = [googlenet(10, **config.model_options()) for _ in range(3)]
    separate = copy.deepcopy(models)
    stacked = StackedEnsemble(models, config)
    images, targets = torch.randn(3, 8, 3, 32, 32), torch.randint(0, 10, (3, 8))
    losses = stacked.train_step(images, targets)
    for k, model in enumerate(separate):
        optimizer = make_optimizer(config, model.parameters())
        model.train()
        loss, _ = googlenet_loss(model(images[k]), targets[k], aux_weight=config.aux_weight,
                                 label_smoothing=config.label_smoothing)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        assert losses[k].item() == pytest.approx(loss.item(), rel=1e-5)
        state = stacked.member_state(k)
        for name, value in model.state_dict().items():  # weights and batch-norm running statistics
            assert torch.allclose(state[name].float(), value.float(), atol=1e-5), name
    with pytest.raises(ValueError, match="one batch per member"):
        stacked.train_step(images[:2], targets[:2])


def test_members_can_start_from_one_shared_run_and_continue_its_schedule(tmp_path):
    # 4 steps an epoch; a decay every round(0.3 x 4) = 1 step: four decays in the shared epoch (not 1 / 0.3 = 3.3)
    config = TrainConfig(**TINY, lr_step_epochs=0.3)
    members = train_ensemble(config, 2, tmp_path, shared_epochs=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["member-1", "member-2", "shared"]
    continued = config.lr * config.lr_gamma ** 4
    assert [m.history[0]["lr"] for m in members] == pytest.approx([continued, continued], rel=1e-12)
    shared, _ = load_trained(tmp_path / "shared", which="raw")
    first = member_configs(config.replace(lr=members[0].history[0]["lr"]), 2)[0]
    by_hand = train(first, initial_weights=shared.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(members[0].model.state_dict().values(),
                                                 by_hand.model.state_dict().values()))
    from_initialization = train(first)
    assert not torch.equal(members[0].model.fc.weight, from_initialization.model.fc.weight)
    with pytest.raises(ValueError, match="shared_epochs"):
        train_ensemble(config, 2, shared_epochs=-1)


def test_members_cannot_share_a_run_of_the_poly_schedule():
    with pytest.raises(ValueError, match="lr_schedule"):  # refused before anything is trained
        train_ensemble(TrainConfig(**TINY, lr_schedule="poly"), 2, shared_epochs=1)
