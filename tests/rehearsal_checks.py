"""What a rehearsal of a GPU parameter set must have done (tests/test_rehearsal_*.py, one file per set so that the
two rehearsals run on different test workers)."""

import re
from pathlib import Path

import torch

from reproduce.book import plan, rehearsal, runner

ROOT = Path(__file__).parent.parent


def rehearse_and_check(tmp_path: Path, name: str) -> None:
    """Rehearse the parameter set ``name`` in ``tmp_path`` and check what it did."""
    parameters = runner.load_parameters(ROOT / "params" / name)
    summary = rehearsal.rehearse(tmp_path / "run", parameters)
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert sorted(summary["notebooks"]) == notebooks and Path(summary["html"], "index.html").is_file()
    results = runner.read_results(tmp_path / "run" / "results")
    for notebook, given in parameters.items():  # executed with the set's values, scaled where SCALE says
        executed = results[notebook.removesuffix(".ipynb")]["parameters"]
        assert executed == summary["rehearsed"][notebook]
        for key, value in given.items():
            if key == "config":  # each field the set changes, scaled where SCALE's config says
                for field, changed in value.items():
                    assert executed[key][field] == rehearsal.SCALE["config"].get(field, changed), (notebook, field)
            else:
                assert executed[key] == rehearsal.SCALE.get(key, value), (notebook, key)
    home = rehearsal.home(tmp_path / "run")
    for values in parameters.values():  # the data came through the set's "~" paths, in its formats
        if values.get("config", {}).get("dataset") == "cifar100":
            assert (home / "data" / "cifar100" / "cifar-100-python.tar.gz").is_file()
            assert (home / "data" / "cifar100" / "cifar-100-python" / "train").is_file()  # extracted by the loader
        if values.get("config", {}).get("dataset") == "imagefolder":
            assert any((home / "data" / "imagenet" / "train").rglob("*.JPEG"))
    runs = tmp_path / "run" / "notebooks" / parameters["evaluation.ipynb"]["runs_dir"]
    members = sorted((runs / "ensemble").glob("member-*/checkpoint.pt"))
    assert len(members) == rehearsal.SCALE["members"]  # the runs_dir keeps every member, resumable
    # every network was trained once, as the plan counts them: runs shared by notebooks are reloaded, not retrained
    with rehearsal.environment(HOME=str(home)):
        stages = plan.plan(summary["rehearsed"], "cpu", timed=False)["stage"]
    planned = sum(int(re.match(r"train \((\d+) runs", s).group(1)) for s in stages if s.startswith("train ("))
    folders = {p.resolve() for p in (tmp_path / "run" / "checkpoints").rglob("checkpoint.pt")}
    assert len(folders) == planned
    state = torch.load(members[0], weights_only=True)
    # the members trained through torchrun, as on a machine of several GPUs, and their crops were scored so too:
    # kept block by block in the runs_dir, one folder per crop setting
    assert summary["processes"] == rehearsal.PROCESSES >= 2
    assert all(torch.load(m, weights_only=True)["processes"] == rehearsal.PROCESSES for m in members)
    kept = [folder for folder in (runs / "crops").glob("scoring-*") if folder.is_dir()]
    assert len(kept) == 1, kept
    crop_counts = {**runner.notebook_defaults("evaluation.ipynb"), **parameters["evaluation.ipynb"]}["crop_counts"]
    assert sorted(f.name for f in kept[0].iterdir()) == sorted(f"{c}-crops" for c in crop_counts)
    assert all(any(f.glob("block-*.pt")) for f in kept[0].iterdir())
    members_config = parameters["evaluation.ipynb"]["config"]
    assert state["config"]["dataset"] == members_config["dataset"]
    assert state["config"]["lr_schedule"] == members_config.get("lr_schedule", "step")
    assert state["config"]["crop"] == members_config.get("crop", False)
