"""benchmarks/miniature.py: a tiny sweep through the real runner (worker processes, the results file rewritten after
every run), each group's options the miniature's with its changes and the plain network at GoogLeNet's cost."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def miniature():
    """The benchmark module, with its folder on ``sys.path`` while the test runs: the sweep's worker processes are
    spawned, and they import it again to find the function they run."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import miniature

        yield miniature
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def test_a_groups_options_are_the_miniatures_with_the_groups_changes(miniature):
    from reproduce.analysis.costs import equal_cost_scale
    from reproduce.training import MINIATURE_CONFIG

    googlenet = miniature.options("claim", "GoogLeNet")
    assert googlenet == {**MINIATURE_CONFIG.to_dict(), "progress": False, "amp": False}
    plain = miniature.options("claim", "plain 3x3 stack")
    assert plain["blocks"] == "plain" and plain["block_scale"] == equal_cost_scale(
        "plain", MINIATURE_CONFIG.image_size, 20, width=MINIATURE_CONFIG.width, batch_norm=True,
        stem=MINIATURE_CONFIG.stem, branch5x5=MINIATURE_CONFIG.branch5x5)


@pytest.mark.slow
def test_a_tiny_sweep_writes_every_run_with_its_curve_and_test_accuracy(miniature, tmp_path):
    out = tmp_path / "miniature.json"
    tiny = dict(image_size=32, shapes_size=40, train_images=64, eval_images=32, epochs=2, batch_size=16)
    miniature.run_sweep("claim", 2, out, tiny)
    record = json.loads(out.read_text())
    groups = ["GoogLeNet", "naive modules (Figure 2a)", "plain 3x3 stack"]
    assert sorted(record["groups"]) == groups and record["threads per run"] == 1
    assert sorted((run["group"], run["seed"]) for run in record["runs"]) == [
        (groups[0], 0), (groups[0], 1), (groups[1], 0), (groups[2], 0), (groups[2], 1)]
    for run in record["runs"]:
        assert [row[0] for row in run["curve"]] == [1, 2] and run["steps"] == 2 * 64 // 16
        assert 0 <= run["test_top1"]["raw"] <= 1 and 0 <= run["test_top1"]["polyak"] <= 1
    scales = {run["group"]: run["block_scale"] for run in record["runs"]}
    assert scales["GoogLeNet"] == 1 and scales["plain 3x3 stack"] < 1 and scales["naive modules (Figure 2a)"] < 1
