"""The package's entry points: every name ``reproduce`` exports is the object its own module defines, and the
training and evaluation packages load only when one of theirs is first used."""

import subprocess
import sys

import pytest

import reproduce


def test_every_exported_name_is_its_modules_object():
    from reproduce.analysis import costs
    from reproduce import evaluate, models, training

    homes = {"googlenet": models, "googlenet_torchvision": models, "table1": costs, "naive_vs_reduced": costs,
             "TrainConfig": training, "BOOK_CONFIG": training, "train": training, "load_trained": training,
             "paper_crops_144": evaluate, "crop_probabilities": evaluate, "Ensemble": evaluate, "table3": evaluate}
    assert set(reproduce.__all__) == set(homes)
    for name, module in homes.items():
        assert getattr(reproduce, name) is getattr(module, name), name


def test_importing_the_package_loads_neither_training_nor_evaluation_and_a_wrong_name_is_an_attribute_error():
    code = ("import sys, reproduce; print(sorted(m for m in sys.modules if m.startswith(('reproduce.training', "
            "'reproduce.evaluate'))))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "[]"
    with pytest.raises(AttributeError, match="no attribute 'trian'"):
        reproduce.trian
