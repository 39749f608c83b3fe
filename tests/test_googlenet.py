"""The model is the paper's network: structure, counts, shapes and outputs, and options that change what they say."""

import pytest
import torch
from torch import nn

from reproduce import googlenet
from reproduce.models import AuxiliaryHead, GoogLeNetOutputs, InceptionModule, NaiveInceptionModule
from reproduce.paper import TABLE1


def n_params(module, skip_aux=False):
    return sum(p.numel() for name, p in module.named_parameters() if not (skip_aux and name.startswith("aux")))


def test_exact_parameter_counts():
    model = googlenet()
    assert n_params(model, skip_aux=True) == 6_998_552
    assert n_params(model) == 13_378_280
    assert n_params(googlenet(aux_heads=False)) == 6_998_552


def test_filter_counts_are_table1():
    modules = googlenet().inception_modules()
    rows = [row for row in TABLE1 if row.type.startswith("inception")]
    assert list(modules) == [row.key for row in rows]
    for row in rows:
        assert tuple(modules[row.key].filters.values()) == row.filters


def test_paper_stem_is_figure3():
    model = googlenet()
    assert (model.conv1.conv.kernel_size, model.conv1.conv.stride) == ((7, 7), (2, 2))
    assert (model.conv2.conv.kernel_size, model.conv3.conv.kernel_size) == ((1, 1), (3, 3))
    for lrn in (model.lrn1, model.lrn2):
        assert isinstance(lrn, nn.LocalResponseNorm)
        assert (lrn.size, lrn.alpha, lrn.beta, lrn.k) == (5, 1e-4, 0.75, 1.0)
    for pool in (model.maxpool1, model.maxpool2, model.maxpool3, model.maxpool4):
        assert (pool.kernel_size, pool.stride) == (3, 2)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert model.dropout.p == 0.4 and model.aux1.dropout.p == 0.7


def test_every_conv_is_followed_by_relu_and_5x5_is_real():
    model = googlenet()
    relu_outputs = []
    hooks = [m.register_forward_hook(lambda m, i, o: relu_outputs.append(o.min().item()))
             for m in model.modules() if m.__class__.__name__ == "ConvBlock"]
    model.eval()(torch.randn(1, 3, 224, 224))
    for hook in hooks:
        hook.remove()
    assert len(relu_outputs) == 3 + 9 * 6  # stem convs + six convs per module
    assert min(relu_outputs) >= 0
    for module in model.inception_modules().values():
        assert module.branch3[1].conv.kernel_size == (5, 5)


def test_output_size_at_every_table1_row():
    model = googlenet().eval()
    shapes = {}
    for name, module in model.named_children():
        module.register_forward_hook(lambda m, i, o, name=name: shapes.update({name: tuple(o.shape)}))
    model(torch.randn(1, 3, 224, 224))
    shapes["softmax"] = shapes["fc"]
    for row in TABLE1:
        name = {"maxpool1": "lrn1", "conv2": "lrn2"}.get(row.key, row.key)
        shape = shapes[name]
        hwc = f"{shape[2]}x{shape[3]}x{shape[1]}" if len(shape) == 4 else f"1x1x{shape[1]}"
        assert hwc == row.output, row.key


def test_aux_outputs_only_in_training():
    model = googlenet(num_classes=10)
    x = torch.randn(2, 3, 224, 224)
    out = model.train()(x)
    assert isinstance(out, GoogLeNetOutputs)
    assert [t.shape for t in out] == [(2, 10)] * 3
    logits = model.eval()(x)
    assert isinstance(logits, torch.Tensor) and logits.shape == (2, 10)
    no_aux = googlenet(num_classes=10, aux_heads=False).train()
    assert isinstance(no_aux(x), torch.Tensor)
    assert no_aux.aux1 is None and no_aux.aux2 is None


def test_aux_heads_pool_5x5_stride_3_at_224_px():
    model = googlenet(num_classes=10).eval()
    features = {}
    model.inception4a.register_forward_hook(lambda m, i, o: features.update({"4a": o}))
    model(torch.randn(2, 3, 224, 224))
    x = features["4a"]
    assert x.shape[-2:] == (14, 14)
    head = model.aux1.eval()
    pooled = nn.functional.avg_pool2d(x, 5, stride=3)
    assert pooled.shape[-2:] == (4, 4)
    expected = head.fc2(torch.relu(head.fc1(head.conv(pooled).flatten(1))))
    torch.testing.assert_close(head(x), expected)


def test_aux_pool_adaptive_differs_from_paper_pool():
    x = torch.randn(2, 8, 14, 14)
    paper = AuxiliaryHead(8, 5, pool="paper").eval()
    adaptive = AuxiliaryHead(8, 5, pool="adaptive").eval()
    adaptive.load_state_dict(paper.state_dict())
    assert not torch.allclose(paper(x), adaptive(x))
    with pytest.raises(ValueError, match="adaptive"):
        AuxiliaryHead(8, 5, pool="max")


@pytest.mark.parametrize("size", [32, 64, 96])
def test_small_stem_keeps_resolution_and_aux_heads_work(size):
    model = googlenet(num_classes=10, stem="small", width=0.25)
    shapes = {}
    for name in ("inception3a", "inception4a", "inception5b"):
        model.get_submodule(name).register_forward_hook(lambda m, i, o, n=name: shapes.update({n: o.shape[-1]}))
    out = model.train()(torch.randn(2, 3, size, size))
    assert [t.shape for t in out] == [(2, 10)] * 3
    assert (shapes["inception3a"], shapes["inception4a"], shapes["inception5b"]) == (size, size // 2, size // 4)
    assert model.conv1.conv.kernel_size == (3, 3) and model.conv1.conv.stride == (1, 1)


def test_batch_norm_replaces_lrn():
    model = googlenet(batch_norm=True)
    assert not any(isinstance(m, nn.LocalResponseNorm) for m in model.modules())
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(bns) == len(convs) and all(c.bias is None for c in convs)


def test_factorized_5x5_is_two_3x3():
    model = googlenet(branch5x5="2x3x3")
    for module in model.inception_modules().values():
        convs = [m for m in module.branch3.modules() if isinstance(m, nn.Conv2d)]
        assert [c.kernel_size for c in convs] == [(1, 1), (3, 3), (3, 3)]
        assert convs[1].out_channels == convs[2].out_channels == module.filters["#5x5"]
        assert module.depth == 3
    assert googlenet(branch5x5="2x3x3").eval()(torch.randn(1, 3, 224, 224)).shape == (1, 1000)


def test_width_multiplier_scales_every_layer():
    half = googlenet(width=0.5, aux_heads=False)
    full = googlenet(aux_heads=False)
    assert half.inception3a.filters == {k: v // 2 for k, v in full.inception3a.filters.items()}
    assert half.fc.in_features == 512 and half.conv1.conv.out_channels == 32
    # convolution weights scale with width squared (the first and last layers only linearly)
    assert 0.24 < n_params(half) / n_params(full) < 0.30
    assert half.eval()(torch.randn(1, 3, 224, 224)).shape == (1, 1000)


def test_num_classes():
    model = googlenet(num_classes=7)
    assert model.fc.out_features == model.aux1.fc2.out_features == model.aux2.fc2.out_features == 7


@pytest.mark.parametrize("options, message", [
    (dict(branch5x5="7x7"), "2x3x3"), (dict(stem="tiny"), "small"), (dict(width=0), "positive"),
    (dict(num_classes=0), "positive"), (dict(init="xavier"), "caffe"), (dict(aux_pool="max"), "adaptive"),
    (dict(aux_pool="max", aux_heads=False), "adaptive"),
])
def test_bad_options_are_rejected_by_name(options, message):
    with pytest.raises(ValueError, match=message):
        googlenet(**options)


def test_naive_module_keeps_input_channels():
    module = NaiveInceptionModule(192, 64, 128, 32)
    out = module(torch.randn(1, 192, 28, 28))
    assert out.shape == (1, 192 + 64 + 128 + 32, 28, 28) == (1, module.out_channels, 28, 28)
    assert module.branch3.conv.kernel_size == (5, 5) and module.branch3.conv.in_channels == 192


def test_inception_module_concatenates_branches_in_order():
    module = InceptionModule(16, 1, 2, 3, 2, 4, 5).eval()
    x = torch.randn(1, 16, 8, 8)
    out = module(x)
    parts = torch.split(out, [1, 3, 4, 5], dim=1)
    for part, branch in zip(parts, module.branches()):
        torch.testing.assert_close(part, branch(x))


def test_aux_batch_norm_is_off_by_default_and_changes_nothing_then():
    model = googlenet()
    assert not any(isinstance(m, nn.BatchNorm1d) for m in model.modules())
    assert model.aux1.fc1_bn is None and model.aux1.fc1.bias is not None
    assert n_params(googlenet(aux_batch_norm=False)) == n_params(model) == 13_378_280
    torch.manual_seed(0)
    bn = googlenet(batch_norm=True)
    torch.manual_seed(0)
    bn_off = googlenet(batch_norm=True, aux_batch_norm=False)
    assert bn.state_dict().keys() == bn_off.state_dict().keys()


def test_aux_batch_norm_normalizes_the_fc_layer_of_each_head():
    model = googlenet(num_classes=10, aux_batch_norm=True)
    for head in (model.aux1, model.aux2):
        assert isinstance(head.fc1_bn, nn.BatchNorm1d) and head.fc1_bn.num_features == head.fc1.out_features
        assert head.fc1.bias is None
        assert isinstance(head.conv.bn, nn.BatchNorm2d)  # the whole head is batch-normalized
    # only the heads change: 2 x (1024 fc biases replaced by 1024 scales and 1024 shifts, + the conv's BN)
    plain = googlenet(num_classes=10)
    assert n_params(model, skip_aux=True) == n_params(plain, skip_aux=True)
    conv_bn = 2 * (2 * 128 - 128)  # BN scale and shift replace the 1x1 convolution's bias
    assert n_params(model) - n_params(plain) == 2 * 1024 + conv_bn
    out = model.train()(torch.randn(2, 3, 224, 224))
    assert [t.shape for t in out] == [(2, 10)] * 3
    head = model.aux1.eval()
    x = torch.randn(2, 512, 14, 14)
    pooled = head.conv(nn.functional.avg_pool2d(x, 5, stride=3)).flatten(1)
    torch.testing.assert_close(head(x), head.fc2(torch.relu(head.fc1_bn(head.fc1(pooled)))))


def test_lrn_computes_in_float32_whatever_the_inputs_dtype_and_autocast():
    """Figure 3's LRN in a bf16 network: the normalization computed in float32 (where bf16 would round
    ``1 + alpha * mean(x^2)`` to 1), the result rounded once to the input's dtype."""
    from reproduce.models.blocks import LocalResponseNorm

    torch.manual_seed(0)
    lrn = googlenet(num_classes=10).lrn1
    assert isinstance(lrn, LocalResponseNorm) and (lrn.size, lrn.alpha, lrn.beta, lrn.k) == (5, 1e-4, 0.75, 1.0)
    x = torch.randn(2, 16, 6, 6) * 60  # activations large enough that the normalization divides by up to ~1.6
    reference = x.clone()
    for c in range(16):  # b_c = a_c / (k + alpha / n * sum of a^2 over the n channels around c) ** beta, by hand
        window = x[:, max(0, c - 2):c + 3] ** 2
        reference[:, c] = x[:, c] / (1.0 + 1e-4 / 5 * window.sum(1)) ** 0.75
    assert (x / reference).abs().max() > 1.3  # it does normalize these
    torch.testing.assert_close(lrn(x), reference, rtol=1e-5, atol=1e-4)
    low = x.bfloat16()
    for autocast in (False, True):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            out = lrn(low)
        assert out.dtype == torch.bfloat16  # the input's dtype, rounded once from the float32 result
        torch.testing.assert_close(out.float(), lrn(low.float()).bfloat16().float(), rtol=0, atol=0)
