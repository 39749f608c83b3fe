"""Table 3 in miniature: each row scores one crop setting of the same per-crop probabilities with one model (each
member alone, averaged over the members) or the ensemble of the first m members, costs models x crops forward
passes, and is compared with the paper's row of the same kind."""

import matplotlib.pyplot as plt
import pandas as pd
import pytest
import torch

from reproduce import data
from reproduce.book import figures
from reproduce.book.chapters import evaluation as evaluation_chapter
from reproduce.evaluate import CropProbabilities, crop_probabilities, predict, table3
from reproduce.evaluate.score import images_and_targets
from reproduce.evaluate.table3 import outcomes as table3_outcomes
from reproduce.paper import TABLE3


def reduced(per_crop):
    """(members, N, crops, classes) probabilities of every crop -> their mean and max over the crops."""
    return CropProbabilities(per_crop.mean(2), per_crop.amax(2), per_crop.shape[2])


def one_hot_probabilities(predictions):
    """(members, N, crops) class indices -> the probabilities, reduced over the crops, of crops that put 0.9 on that
    class."""
    p = torch.full((*predictions.shape, 3), 0.05)
    return reduced(p.scatter_(-1, predictions[..., None], 0.9))


def test_one_model_is_the_members_mean_and_m_models_the_ensemble_of_the_first_m():
    targets = torch.tensor([0, 1, 2, 0])
    # one crop: member 1 is wrong on images 1 and 2, members 2 and 3 are right there, and the three outvote
    # member 2's mistake on image 3
    one_crop = one_hot_probabilities(torch.tensor([[[0], [0], [0], [0]], [[0], [1], [2], [1]], [[0], [1], [2], [0]]]))
    # three crops, the same for every member: the majority of the crops wins (wrong on images 0 and 2)
    three = one_hot_probabilities(torch.tensor([[[0, 1, 1], [0, 1, 1], [0, 0, 0], [0, 0, 0]]] * 3))
    table = table3({1: one_crop, 3: three}, targets)
    assert list(table.columns) == ["models", "crops", "cost", "top1_error", "top5_error", "top1_vs_base",
                                   "top5_vs_base"]
    assert table[["models", "crops", "cost"]].values.tolist() == [[1, 1, 1], [1, 3, 3], [3, 1, 3], [3, 3, 9]]
    # one model, one crop: the members' errors are 50%, 25% and 0%; their ensemble is right everywhere
    assert table["top1_error"].tolist() == [25.0, 50.0, 0.0, 50.0]
    assert table["top1_vs_base"].tolist() == [0.0, 25.0, -25.0, 25.0]
    assert (table["top5_error"] == 0).all()  # 3 classes: the right one is always among the top 5
    assert table3({1: one_crop}, targets, models=[3])["top1_error"].tolist() == [0.0]


def _four_members():
    """4 members, 3 images of class 0 (of 2): each member's probability of class 0 on each image, one crop."""
    p0 = torch.tensor([[0.9, 0.3, 0.6],  # member 0: right on images 0 and 2
                       [0.2, 0.8, 0.45],  # member 1: right on image 1
                       [0.7, 0.1, 0.2],  # member 2: right on image 0
                       [0.4, 0.65, 0.9]])  # member 3: right on images 1 and 2
    p = torch.stack([p0, 1 - p0], dim=2)
    return {1: CropProbabilities(p, p, 1)}, torch.zeros(3, dtype=torch.long)


def test_an_ensemble_of_fewer_models_than_members_is_the_first_ones_and_one_model_every_member():
    probabilities, targets = _four_members()
    table = table3(probabilities, targets, models=[1, 2, 3]).set_index("models")["top1_error"]
    # one model: the members' errors 1/3, 2/3, 2/3, 1/3, averaged; two models: members 0 and 1 (class 0 at 0.55,
    # 0.55, 0.525: right everywhere); three: members 0 to 2 (0.6, 0.4, 0.417: wrong on images 1 and 2)
    assert table.tolist() == pytest.approx([50.0, 0.0, 200 / 3])
    rows = table3_outcomes(probabilities, targets, models=[1, 2, 3])
    assert rows[(1, 1)]([0, 1, 2, 3]).tolist() == pytest.approx([0.5, 0.5, 0.5])
    assert rows[(1, 1)]([1, 3]).tolist() == pytest.approx([0.0, 1.0, 0.5])  # the mean of the members it is given
    assert rows[(2, 1)]([0, 1, 2, 3]).tolist() == [1, 1, 1]
    # the jackknife leaves members out: the first two of the others. Without member 0: members 1 and 2 (0.45,
    # 0.45, 0.325); without member 1: members 0 and 2 (0.8, 0.2, 0.4)
    assert rows[(2, 1)]([1, 2, 3]).tolist() == [0, 0, 0]
    assert rows[(2, 1)]([0, 2, 3]).tolist() == [1, 0, 0]
    assert rows[(3, 1)]([0, 2, 3]).tolist() == [1, 0, 1]  # members 0, 2 and 3: 0.667, 0.35, 0.567


def test_a_row_is_what_predict_gives_for_those_models_and_crops():
    torch.manual_seed(0)
    models = [torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten(), torch.nn.Linear(12, 5))
              for _ in range(3)]
    images, targets = torch.randn(6, 3, 20, 28), torch.randint(0, 5, (6,))
    probabilities = {c: crop_probabilities(models, images, crops=c, size=16, batch_size=50) for c in (1, 10, 144)}
    assert probabilities[144].mean.shape == probabilities[144].max.shape == (3, 6, 5)
    table = table3(probabilities, targets).set_index(["models", "crops"])
    def error(members, crops):
        return (predict(members, images, crops=crops, size=16).argmax(1) != targets).float().mean().item() * 100

    for (m, c), row in table.iterrows():
        expected = error(models[:m], c) if m > 1 else sum(error([model], c) for model in models) / len(models)
        assert row["top1_error"] == pytest.approx(expected)
    maxed = table3(probabilities, targets, reduce="max").set_index(["models", "crops"])
    scores = predict(models, images, crops=144, size=16, reduce="max")
    assert maxed.loc[(3, 144), "top1_error"] == pytest.approx((scores.argmax(1) != targets).float().mean().item() * 100)


def test_bad_member_and_crop_counts_are_rejected():
    p = reduced(torch.full((2, 4, 1, 3), 1 / 3))
    with pytest.raises(ValueError, match="between 1 and 2"):
        table3({1: p}, torch.zeros(4, dtype=torch.long), models=[1, 3])
    with pytest.raises(ValueError, match="same members"):
        table3({1: p, 10: reduced(torch.full((3, 4, 10, 3), 1 / 3))}, torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"probabilities\[10\] holds probabilities over 1 crops"):
        table3({10: p}, torch.zeros(4, dtype=torch.long))


def ours():
    return pd.DataFrame({"models": [1, 1, 1, 7, 7, 7], "crops": [1, 10, 144] * 2, "cost": [1, 10, 144, 7, 70, 1008],
                         "top1_error": [20.0, 19, 18, 15, 14, 13], "top5_error": [2.0, 2, 1, 1, 1, 0.5],
                         "top1_vs_base": [0.0, -1, -2, -5, -6, -7], "top5_vs_base": [0.0, 0, -1, -1, -1, -1.5]})


def test_side_by_side_matches_rows_by_crops_and_one_model_or_ensemble():
    table = evaluation_chapter.table3_with_paper(ours())
    assert table["paper: top-5 error %"].tolist() == [row.top5_error for row in TABLE3]
    assert table["paper: cost"].tolist() == [row.cost for row in TABLE3]
    assert table["paper: vs base"].iloc[-1] == pytest.approx(6.67 - 10.07)  # computed, not the printed -3.45
    three = evaluation_chapter.table3_with_paper(ours().assign(models=[1, 1, 1, 3, 3, 3]))
    assert three["paper: models"].tolist() == [1, 1, 1, 7, 7, 7] and three["models"].tolist()[-1] == 3
    assert table[["top-1 vs base", "top-5 vs base", "paper: vs base"]].iloc[0].isna().all()  # the base row
    assert table["top-5 vs base"].tolist()[1:] == [0.0, -1, -1, -1, -1.5]
    html = evaluation_chapter.style_table3(table).to_html()
    assert "-3.40" in html and "+0.00" in html and "nan" not in html


def test_error_vs_cost_draws_both_predictors_on_log_axes():
    fig = figures.error_vs_cost(evaluation_chapter.table3_with_paper(ours()))
    try:
        assert [ax.get_xscale() for ax in fig.axes] == ["log", "log"]
        for ax in fig.axes:
            assert [line.get_label() for line in ax.get_lines()] == ["1 model", "7 models"]
        assert list(fig.axes[0].get_lines()[1].get_ydata()) == [15, 14, 13]
        assert list(fig.axes[1].get_lines()[0].get_xdata()) == [1, 10, 144]
    finally:
        plt.close(fig)


def test_whole_images_are_the_generated_images_normalized_and_uncropped():
    test = data.whole_images("shapes", "test", shapes_size=40, num_images=12)
    lazy, targets = images_and_targets(test)
    images = torch.stack(lazy[:])
    raw = data.synthetic.EmbeddedShapes("test", image_size=40, num_images=12)
    assert images.shape == (12, 3, 40, 40) and targets.tolist() == raw.targets.tolist()
    restored = data.transforms.denormalize(images) * 255
    assert torch.allclose(restored, raw.images.float(), atol=0.01)


def test_crop_settings_score_more_than_ten_crops_on_the_subset_only():
    from reproduce.book.chapters import evaluation as evaluation_chapter
    from reproduce.evaluate.table3 import score_crop_settings

    torch.manual_seed(0)
    models = [torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten(), torch.nn.Linear(12, 5))
              for _ in range(2)]
    images = torch.randn(6, 3, 20, 28)
    settings = score_crop_settings(models, images, [1, 144], [0, 3], size=16, resize_ratio=1.0)
    assert set(settings.every_image) == {1} and set(settings.on_subset) == {1, 144} and settings.subset == [0, 3]
    whole = crop_probabilities(models, images, crops=1, size=16, resize_ratio=1.0)
    assert torch.equal(settings.every_image[1].mean, whole.mean)
    assert torch.equal(settings.on_subset[1].mean, whole.mean[:, [0, 3]])
    many = crop_probabilities(models, images[[0, 3]], crops=144, size=16)
    assert torch.allclose(settings.on_subset[144].mean, many.mean)
    times = evaluation_chapter.evaluation_times(2, 0, 5.0, settings)
    assert times["work"].tolist() == ["train 2 members", "2 models x 1 crops x 6 images",
                                      "2 models x 144 crops x 2 images"]


def test_the_test_split_is_scored_whole_at_the_members_scale_with_many_crops_on_an_even_subset():
    """score_test_split reads the config's test split whole (test_images evenly spaced), scores the settings of more
    than 10 crops on many_crop_images of them, and cuts the 1 and 10 crops at the scale the members trained at."""
    from reproduce.data import evenly_spaced_indices, whole_images
    from reproduce.data.transforms import test_resize_ratio
    from reproduce.evaluate.table3 import score_test_split
    from reproduce.training import TrainConfig

    torch.manual_seed(0)
    models = [torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten(), torch.nn.Linear(12, 10))
              for _ in range(2)]
    for crop in (False, True):
        config = TrainConfig(image_size=16, shapes_size=24, crop=crop)
        settings, targets = score_test_split(models, config, test_images=6, many_crop_images=2, crop_counts=[1, 144])
        test = whole_images("shapes", "test", shapes_size=24, num_images=6)
        assert targets.tolist() == [test[i][1] for i in range(6)] and settings.subset == evenly_spaced_indices(6, 2)
        images = torch.stack([test[i][0] for i in range(6)])
        one = crop_probabilities(models, images, crops=1, size=16, resize_ratio=test_resize_ratio(crop))
        assert torch.allclose(settings.every_image[1].mean, one.mean)
        many = crop_probabilities(models, images[settings.subset], crops=144, size=16)
        assert torch.allclose(settings.on_subset[144].mean, many.mean)


def test_the_max_over_crops_is_compared_with_the_mean_on_the_rows_of_several_crops():
    from reproduce.book.chapters import evaluation as evaluation_chapter

    mean = pd.DataFrame({"models": [1, 1, 7], "crops": [1, 10, 10], "top1_error": [5.0, 4.0, 2.0]})
    maxed = pd.DataFrame({"models": [1, 1, 7], "crops": [1, 10, 10], "top1_error": [5.0, 6.0, 2.0]})
    table, worse = evaluation_chapter.pooling_table(mean, maxed)
    assert table["crops"].tolist() == [10, 10] and worse == "1 of 2"
