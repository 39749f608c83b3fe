"""The CIFAR-100 parameter set rehearsed on the CPU: every notebook executed as the GPU box would execute it, on
CIFAR-100's "python version" archive alone, reached through the set's ``~`` path, scaled down by
reproduce.book.rehearsal.SCALE, and the book built (tests/rehearsal_checks.py)."""

import pytest

from rehearsal_checks import rehearse_and_check


@pytest.mark.slow
def test_the_cifar100_set_runs_every_notebook_and_builds_the_book(tmp_path):
    rehearse_and_check(tmp_path, "cifar100-gpu.yml")
