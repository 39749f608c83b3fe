"""The embedded data set: deterministic, any resolution, objects at scales 4x apart, balanced, and not solvable
linearly."""

import pytest
import torch
import torch.nn.functional as F

from reproduce.analysis.baselines import linear_classifier_accuracy
from reproduce.data.synthetic import CLASSES, SCALE_RANGE, EmbeddedShapes, generate, render


def test_the_same_seed_gives_the_same_images_and_other_seeds_or_splits_do_not():
    a, la = generate(300, 32, seed=3)
    b, lb = generate(300, 32, seed=3)
    assert torch.equal(a, b) and torch.equal(la, lb)
    assert not torch.equal(a, generate(300, 32, seed=4)[0])
    assert not torch.equal(a, generate(300, 32, seed=3, split="val")[0])


def test_the_first_images_of_a_split_do_not_depend_on_how_many_follow():
    few, few_labels = generate(100, 24)
    many, many_labels = generate(600, 24)
    assert torch.equal(few, many[:100]) and torch.equal(few_labels, many_labels[:100])


def test_the_same_scene_is_drawn_at_any_resolution():
    clean = dict(noise=0.0)
    small = generate(64, 32, seed=1, **clean)[0].float()
    large = generate(64, 128, seed=1, **clean)[0].float()
    other = generate(64, 32, seed=2, **clean)[0].float()
    shrunk = F.avg_pool2d(large, 4)  # area-average the 128 px images down to 32 px
    assert (shrunk - small).abs().mean() < 6  # grey levels out of 255: anti-aliasing differences only
    assert (other - small).abs().mean() > 40


def _disk_radii(**options):
    labels = torch.zeros(400, dtype=torch.long)  # disks on a flat background, no clutter or noise
    images = render(labels, 96, torch.Generator().manual_seed(0), clutter=0, noise=0.0, texture=0.0, **options)
    background = images[:, :, :1, :1]
    area = ((images.int() - background.int()).abs().amax(1) > 8).float().sum((1, 2))
    return (area / torch.pi).sqrt() / 96


def test_objects_appear_at_scales_at_least_4x_apart_with_a_wide_scale_range():
    radius = _disk_radii(scale_range=(0.12, 0.5))
    assert radius.max() / radius.min() > 3.5  # log-uniform over 0.12-0.5: the extremes are rarely drawn
    assert radius.quantile(0.95) / radius.quantile(0.05) > 2.5


def test_default_objects_span_the_default_scale_range():
    radius = _disk_radii() / 0.95  # the disk's radius is 0.95 of the object's
    low, high = SCALE_RANGE
    assert (low, high) == (0.3, 0.5)
    assert radius.min() == pytest.approx(low, abs=0.02) and radius.max() == pytest.approx(high, abs=0.02)


def test_every_object_stands_out_from_its_background():
    labels = torch.zeros(400, dtype=torch.long)  # large disks on flat backgrounds: the centre pixel is the object
    images = render(labels, 64, torch.Generator().manual_seed(0), clutter=0, noise=0.0, texture=0.0,
                    scale_range=(0.45, 0.5))
    corners = images[:, :, [0, 0, -1, -1], [0, -1, 0, -1]].float()  # at least one corner is background
    centre = images[:, :, 32, 32].float()
    gap = (corners - centre[:, :, None]).norm(dim=1).amax(1) / 255
    assert gap.min() > 0.15  # the contrast is drawn in [0.3, 0.8], of which clipping to [0, 1] keeps most
    assert gap.median() > 0.4


def test_classes_are_balanced_and_labels_valid():
    images, labels = generate(512, 16)
    assert images.shape == (512, 3, 16, 16) and images.dtype == torch.uint8
    counts = torch.bincount(labels, minlength=len(CLASSES))
    assert counts.max() - counts.min() <= 2  # each block of 256 holds 25 or 26 of every class
    assert len(CLASSES) >= 10


def test_data_sets_made_alike_share_their_images_and_others_do_not():
    a = EmbeddedShapes("val", image_size=16, num_images=40)
    b = EmbeddedShapes("val", image_size=16, num_images=40, transform=lambda x: x)
    assert a.images is b.images  # the runs of a notebook generate each split once
    c = EmbeddedShapes("val", image_size=16, num_images=40, clutter=2)
    assert c.images is not a.images and not torch.equal(c.images, a.images)


def test_evaluation_set_gives_one_centre_crop_of_the_named_split():
    from reproduce.data import evaluation_set

    test = evaluation_set("shapes", "test", image_size=24, shapes_size=32, num_images=10)
    assert len(test) == 10 and test[0][0].shape == (3, 24, 24) and test[0][0].dtype == torch.float32
    assert torch.equal(test.images, generate(10, 32, split="test")[0])
    with pytest.raises(ValueError, match="dataset"):
        evaluation_set("mnist")


def test_the_evaluation_split_takes_the_scale_that_matches_the_training_geometry():
    from reproduce.data import datasets, evaluation_set
    from reproduce.data.transforms import eval_transform

    images = generate(6, 40, split="val")[0]
    options = dict(image_size=24, shapes_size=40, train_images=8, eval_images=6)
    for crop, ratio in ((True, 256 / 224), (False, 1.0)):  # random crops: the standard 256/224; whole images: 1
        expected = torch.stack([eval_transform(24, resize_ratio=ratio)(image) for image in images])
        train, held_out = datasets("shapes", crop=crop, **options)
        assert torch.equal(torch.stack([held_out[i][0] for i in range(6)]), expected)
        alone = evaluation_set("shapes", "val", image_size=24, shapes_size=40, num_images=6, crop=crop)
        assert torch.equal(torch.stack([alone[i][0] for i in range(6)]), expected)
    default = evaluation_set("shapes", "val", image_size=24, shapes_size=40, num_images=6)
    assert torch.equal(default[0][0], eval_transform(24, resize_ratio=256 / 224)(images[0]))
    assert not torch.equal(default[0][0], eval_transform(24, resize_ratio=1.0)(images[0]))  # the two scales differ


def test_dataset_applies_its_transform_and_has_classes():
    data = EmbeddedShapes("test", image_size=20, num_images=30, transform=lambda x: x.float() / 255)
    image, label = data[0]
    assert len(data) == 30 and image.dtype == torch.float32 and image.shape == (3, 20, 20)
    assert data.classes[label] in CLASSES


@pytest.mark.parametrize("kwargs, match", [(dict(split="dev"), "split"), (dict(image_size=4), "image_size"),
                                           (dict(num_images=-1), "num_images")])
def test_bad_arguments_are_rejected_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        generate(**{"num_images": 4, **kwargs})


def test_a_linear_classifier_on_raw_pixels_stays_far_from_solving_it():
    train_x, train_y = generate(2000, 32)
    test_x, test_y = generate(1000, 32, split="test")
    result = linear_classifier_accuracy(train_x, train_y, test_x, test_y, iterations=50)
    assert result["train_top1"] > result["test_top1"]  # it fits the train split ...
    assert result["test_top1"] < 0.3  # ... and does not generalize (chance is 0.1)


def test_the_linear_baseline_is_stated_against_chance_with_its_interval():
    from scipy import stats

    from reproduce.analysis.baselines import against_chance

    ci = stats.binomtest(468, 2000).proportion_ci(method="wilson")
    above = against_chance(0.234, 2000, 10)
    assert above.startswith(f"On the 2,000 test images it reaches 23.4% top-1 (95% CI {ci.low:.1%} to {ci.high:.1%})")
    assert above.endswith("2.3 times chance, far from solving the data set.")
    assert against_chance(0.105, 2000, 10).endswith("its interval includes chance.")  # 9.2% to 11.9%
    assert "pixels alone go a long way" in against_chance(0.8, 500, 10)
