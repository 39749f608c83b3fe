import pytest
import torch


@pytest.fixture(autouse=True)
def _scans_kept_apart(tmp_path_factory, monkeypatch):
    """The ImageFolder scans the tests make are kept in a folder of the test session, not in ~/.cache."""
    monkeypatch.setenv("REPRODUCE_SCAN_CACHE", str(tmp_path_factory.getbasetemp() / "scans"))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
