"""The torchvision preset loads torchvision's GoogLeNet state_dict unchanged and computes the same function."""

import pytest
import torch
import torchvision

from reproduce import googlenet_torchvision


def randomized(model):
    """Random weights and random batch-norm statistics, so every parameter and buffer matters to the output."""
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith("running_var"):
                tensor.uniform_(0.5, 2.0)
            elif name.endswith(("running_mean", "bn.bias")):
                tensor.normal_(0, 0.1)
            elif name.endswith("bn.weight"):
                tensor.uniform_(0.5, 1.5)
    return model


@pytest.mark.parametrize("transform_input", [False, True])
@pytest.mark.parametrize("aux", [True, False])
def test_same_outputs_in_eval_mode(transform_input, aux):
    reference = randomized(torchvision.models.googlenet(weights=None, aux_logits=aux, init_weights=True,
                                                       transform_input=transform_input)).eval()
    model = googlenet_torchvision(aux_heads=aux, transform_input=transform_input)
    model.load_state_dict(reference.state_dict(), strict=True)
    model.eval()
    x = torch.randn(4, 3, 224, 224)
    with torch.no_grad():
        diff = (model(x) - reference(x)).abs().max().item()
    assert diff <= 1e-4


def test_same_outputs_in_training_mode_with_aux_heads():
    reference = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=True, dropout=0.0,
                                             dropout_aux=0.0)
    model = googlenet_torchvision()
    model.load_state_dict(reference.state_dict(), strict=True)
    for m in model.modules():  # dropout off on both sides so the two functions are deterministic
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    x = torch.randn(4, 3, 224, 224)
    ours = model.train()(x)
    logits, aux2, aux1 = reference.train()(x)  # torchvision's order
    for a, b in zip(ours, (logits, aux1, aux2)):
        assert (a - b).abs().max().item() <= 1e-4


def test_parameter_count_and_layout_of_torchvision():
    model = googlenet_torchvision(aux_heads=False)
    assert sum(p.numel() for p in model.parameters()) == 6_624_904
    assert model.inception4a.branch3[1].conv.kernel_size == (3, 3)
    assert model.maxpool4.kernel_size == 2 and model.dropout.p == 0.2
