"""The device policy (reproduce.device): what a device name means and what runs on it by default."""

import pytest
import torch

from reproduce import device


def test_auto_is_cuda_only_where_torch_sees_a_gpu_and_cuda_without_one_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert device.resolve_device("auto") == torch.device("cpu")
    with pytest.raises(RuntimeError, match="torch sees no CUDA device"):
        device.resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert device.resolve_device("auto") == torch.device("cuda")


def test_bf16_autocast_and_channels_last_by_default_on_cuda_and_as_given_elsewhere():
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert device.uses_amp(cuda) and not device.uses_amp(cpu)
    assert device.uses_amp(cpu, True) and not device.uses_amp(cuda, False)
    assert device.uses_channels_last() and not device.uses_channels_last(False)


def test_cudnn_is_turned_off_for_vmap_on_cuda_only():
    enabled = torch.backends.cudnn.enabled
    with device.without_cudnn_on(torch.device("cuda")):
        assert not torch.backends.cudnn.enabled
    assert torch.backends.cudnn.enabled == enabled
    with device.without_cudnn_on(torch.device("cpu")):
        assert torch.backends.cudnn.enabled == enabled
