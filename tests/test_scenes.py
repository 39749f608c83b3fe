"""The embedded miniature: deterministic, landscape and portrait, twenty balanced classes, objects drawn at the scale
drawn for them over a range of more than 4x, and Section 7's squares of an image showing different parts of it."""

import torch
import torch.nn.functional as F

from reproduce.data import datasets, whole_images
from reproduce.data.scenes import (ASPECT, CLASSES, SCALE_RANGE, draw_scenes, generate_scenes, long_side,
                                   render_scenes)
from reproduce.evaluate.crops import paper_crops_144


def test_the_same_seed_gives_the_same_scenes_and_the_first_do_not_depend_on_how_many_follow():
    few, few_labels = generate_scenes(20, 32, seed=5)
    many, many_labels = generate_scenes(300, 32, seed=5)
    assert all(torch.equal(a, b) for a, b in zip(few, many)) and torch.equal(few_labels, many_labels[:20])
    other, _ = generate_scenes(20, 32, seed=6)
    assert not all(torch.equal(a, b) for a, b in zip(few, other))
    val, _ = generate_scenes(20, 32, seed=5, split="val")
    assert not all(torch.equal(a, b) for a, b in zip(few, val))


def test_a_third_of_the_scenes_are_portrait_and_every_one_is_4_by_3():
    images, labels = generate_scenes(512, 24)
    shapes = [tuple(image.shape) for image in images]
    assert set(shapes) == {(3, 24, 32), (3, 32, 24)} and long_side(24) == round(24 * ASPECT) == 32
    portrait = sum(shape == (3, 32, 24) for shape in shapes) / len(shapes)
    assert 0.27 < portrait < 0.40  # a third, drawn: 512 draws put it within +-0.06 of 1/3 nearly always
    assert torch.bincount(labels, minlength=len(CLASSES)).tolist() == [26] * 16 + [24] * 4  # 256 = 12 x 20 + 16, twice


def test_the_same_scene_is_drawn_at_any_resolution():
    small = torch.stack([im for im in generate_scenes(40, 40, seed=1)[0] if im.shape[1] == 40]).float()
    large = torch.stack([im for im in generate_scenes(40, 160, seed=1)[0] if im.shape[1] == 160]).float()
    shrunk = F.avg_pool2d(large, 4)
    assert (shrunk - small).abs().mean() < 10  # anti-aliasing and pixel noise only
    assert (shrunk - small.roll(1, 0)).abs().mean() > 40  # other scenes differ by far more


def test_the_object_is_drawn_at_its_drawn_radius_over_a_range_of_more_than_4x():
    generator = torch.Generator().manual_seed(0)
    labels = torch.zeros(200, dtype=torch.long)  # disks, radius 0.95 of the object's
    scenes = draw_scenes(labels, generator)
    for key in ("stroke_count", "distractor_count", "occluder_count"):  # the object alone on its background
        scenes[key].zero_()
    scenes["grating"][:, 0] = 0.0  # a flat background
    scenes["noise_std"].zero_()
    short = 128
    images = render_scenes(scenes, short, generator)
    measured = []
    for image in images:
        background = image[:, :1, :1].int()
        area = ((image.int() - background).abs().amax(0) > 8).float().sum()
        measured.append(float((area / torch.pi).sqrt() / short / 0.95))
    measured = torch.tensor(measured)
    assert torch.allclose(measured, scenes["radius"], atol=1.5 / short)  # the drawn radius, to a pixel or so
    low, high = SCALE_RANGE
    assert high / low > 4 and scenes["radius"].min() >= low and scenes["radius"].max() <= high
    assert scenes["radius"].max() / scenes["radius"].min() > 3.8  # 200 log-uniform draws come near both ends


def test_section_7s_three_squares_of_a_scene_show_different_parts_of_it():
    test = whole_images("scenes", "test", shapes_size=48, num_images=8)
    image = torch.stack([test[i][0] for i in range(8) if test[i][0].shape[1] == 48][:2])  # landscape ones
    crops = paper_crops_144(image, 32)  # (N, 144, C, 32, 32): scale-major, then the first, centre and last square
    whole_squares = crops[:, [5, 11, 17]]  # each square resized whole, at the first scale
    for k in range(len(image)):
        assert (whole_squares[k, 0] - whole_squares[k, 1]).abs().mean() > 0.05
        assert (whole_squares[k, 1] - whole_squares[k, 2]).abs().mean() > 0.05


def test_the_data_sets_train_on_squares_of_twenty_classes():
    train, val = datasets("scenes", image_size=32, shapes_size=40, train_images=64, eval_images=16,
                          photometric=False)
    assert train.classes == val.classes == list(CLASSES) and len(CLASSES) == 20
    x, y = train[3]
    assert x.shape == (3, 32, 32) and 0 <= y < 20
    assert val[0][0].shape == (3, 32, 32)


def test_distractors_and_occluders_are_drawn_where_their_constants_allow(monkeypatch):
    import reproduce.data.scenes as scenes

    def changed_pixels(**constants):
        for name, value in constants.items():
            monkeypatch.setattr(scenes, name, value)
        generator = torch.Generator().manual_seed(3)
        drawn = scenes.draw_scenes(torch.zeros(64, dtype=torch.long), generator)
        drawn["noise_std"].zero_()
        return drawn, torch.stack([im[:, :32, :32] for im in scenes.render_scenes(drawn, 32, generator)])

    plain_scenes, plain = changed_pixels(MAX_DISTRACTORS=0, MAX_OCCLUDERS=0)
    assert not plain_scenes["distractor_count"].any() and not plain_scenes["occluder_count"].any()
    busy_scenes, busy = changed_pixels(MAX_DISTRACTORS=3, MAX_OCCLUDERS=2)
    assert busy_scenes["distractor_count"].max() == 3 and busy_scenes["occluder_count"].max() == 2
    assert (busy != plain).any()


def test_the_data_sets_listed_square_are_those_whose_images_are_square():
    from reproduce.data import EMBEDDED, SQUARE

    for name in EMBEDDED:
        shapes = {tuple(whole_images(name, "test", shapes_size=24, num_images=30)[i][0].shape[1:]) for i in range(30)}
        assert (shapes == {(24, 24)}) is (name in SQUARE), (name, shapes)
