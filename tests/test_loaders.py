"""The training loaders: each sample's augmentation seeded from (seed, epoch, index), so worker processes can persist
and a run's weights do not depend on how many of them load the data."""

import torch
from torch.utils.data import DistributedSampler

from reproduce.training import TrainConfig, train
from reproduce.training.distributed import Processes
from reproduce.training.loop import SeededSampler, SeededSamples, _loaders, sample_seed

#: The full augmentation (crops, random interpolation, photometric distortions, flips): every part draws.
TINY = dict(dataset="shapes", shapes_size=32, image_size=32, train_images=64, eval_images=32, width=0.125,
            batch_size=16, lr=0.02, progress=False)


def tiny(**changes) -> TrainConfig:
    return TrainConfig(**{**TINY, **changes})


def assert_same_weights(first, second):
    for name, value in first.state_dict().items():
        assert torch.equal(value, second.state_dict()[name]), name


def test_a_sample_is_seeded_by_its_seed_alone_and_leaves_the_caller_s_random_state_alone():
    train_set, _ = tiny().training_sets()
    seeded = SeededSamples(train_set)
    state = torch.get_rng_state()
    image, label = seeded[(5, 1234)]
    assert torch.equal(torch.get_rng_state(), state)  # dropout's generator, when the main process loads
    torch.manual_seed(1234)  # the same draws as the transform run under that seed
    expected, expected_label = train_set[5]
    assert torch.equal(image, expected) and label == expected_label
    torch.manual_seed(99)
    assert torch.equal(seeded[(5, 1234)][0], image)  # whatever the state before
    assert not torch.equal(seeded[(5, 1235)][0], image)


def test_the_sampler_pairs_each_index_with_its_seed_for_the_epoch():
    train_set, _ = tiny().training_sets()
    sampler = SeededSampler(DistributedSampler(train_set, num_replicas=1, rank=0, seed=3), seed=3)
    sampler.set_epoch(2)
    pairs = list(sampler)
    reference = DistributedSampler(train_set, num_replicas=1, rank=0, seed=3)
    reference.set_epoch(2)
    assert [index for index, _ in pairs] == list(reference) and len(sampler) == len(pairs) == 64
    assert [seed for _, seed in pairs] == [sample_seed(3, 2, index) for index, _ in pairs]
    assert len({seed for _, seed in pairs}) == 64
    sampler.set_epoch(3)
    assert {s for _, s in sampler}.isdisjoint(s for _, s in pairs)


def test_workers_persist_when_there_are_workers():
    config = tiny(num_workers=2)
    loaders = _loaders(config, Processes(), torch.device("cpu"), *config.training_sets())
    assert all(loader.persistent_workers for loader in loaders)
    loaders = _loaders(tiny(), Processes(), torch.device("cpu"), *config.training_sets())
    assert not any(loader.persistent_workers for loader in loaders)


def test_an_epoch_loaded_by_two_workers_gives_the_weights_of_one_loaded_by_the_main_process():
    config = tiny(epochs=1)
    alone = train(config, datasets=config.training_sets())
    helped = train(config.replace(num_workers=2), datasets=config.training_sets())
    assert_same_weights(alone.model, helped.model)
    assert_same_weights(alone.averaged, helped.averaged)


def test_a_run_with_workers_resumed_after_epoch_1_ends_with_the_weights_of_an_uninterrupted_one(tmp_path):
    config = tiny(epochs=3, num_workers=2)
    whole = train(config, tmp_path / "whole", datasets=config.training_sets())
    train(config.replace(epochs=1), tmp_path / "cut", datasets=config.training_sets())
    resumed = train(config, tmp_path / "cut", resume=True, datasets=config.training_sets())
    assert_same_weights(whole.model, resumed.model)
    assert_same_weights(whole.averaged, resumed.averaged)
    assert [row["val_loss"] for row in resumed.history] == [row["val_loss"] for row in whole.history]


def test_the_sampler_of_a_run_reshuffles_the_train_split_every_epoch():
    config = tiny()
    train_loader, _ = _loaders(config, Processes(), torch.device("cpu"), *config.training_sets())
    orders = []
    for epoch in (1, 2, 3):
        train_loader.sampler.set_epoch(epoch)
        orders.append([index for index, _ in train_loader.sampler])
    assert all(sorted(order) == list(range(64)) for order in orders)  # every image once an epoch
    assert len({tuple(order) for order in orders}) == 3 and list(range(64)) not in orders
