"""Parameters, multiply-adds and shapes counted from the model itself, and Table 1 recomputed from them.

Multiply-adds come from ``torch.utils.flop_counter`` (which counts 2 FLOPs per multiply-add of a convolution or
matrix product, and nothing for pooling, normalization or activations, like the paper's "ops" column). The model is
profiled on PyTorch's meta device: shapes and counts are exact and no arithmetic is done, so even the naive modules
of Figure 2a, stacked, cost nothing to count.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import pandas as pd
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .. import paper
from ..models import GoogLeNet, InceptionModule, NaiveInceptionModule, googlenet
from ..models.blocks import ConvBlock


@dataclass
class Profile:
    """One forward pass of a module, per submodule name ("" is the module itself)."""

    macs: dict[str, int] = field(default_factory=dict)
    inputs: dict[str, tuple[int, ...]] = field(default_factory=dict)
    outputs: dict[str, tuple[int, ...]] = field(default_factory=dict)


def count_params(*modules: nn.Module, biases: bool = True) -> int:
    return sum(p.numel() for m in modules for name, p in m.named_parameters()
               if biases or not name.endswith("bias"))


def profile(module: nn.Module, input_shape: tuple[int, ...]) -> Profile:
    """Multiply-adds and input/output shapes of every submodule, for one eval-mode pass of ``input_shape``."""
    meta = copy.deepcopy(module).to("meta").eval()
    result = Profile()
    names = {m: name for name, m in meta.named_modules()}

    def record(m, args, output):
        name = names[m]
        result.inputs.setdefault(name, tuple(args[0].shape))
        result.outputs.setdefault(name, tuple(output.shape))

    hooks = [m.register_forward_hook(record) for m in names]
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            meta(torch.empty(input_shape, device="meta"))
    finally:
        for hook in hooks:
            hook.remove()
    root = type(meta).__name__
    for name, flops in counter.get_flop_counts().items():
        if name == root or name.startswith(root + "."):
            result.macs[name[len(root) + 1:]] = sum(flops.values()) // 2
    return result


def _size(shape: tuple[int, ...]) -> str:
    """Table 1's ``H x W x C`` notation for an NCHW (or NC) shape."""
    if len(shape) == 2:
        return f"1x1x{shape[1]}"
    return f"{shape[2]}x{shape[3]}x{shape[1]}"


#: The modules of our GoogLeNet that implement each row of Table 1 (by default the module named like the row).
ROW_MODULES = {"maxpool1": ("maxpool1", "lrn1"), "conv2": ("conv2", "conv3", "lrn2"), "softmax": ()}
FILTER_COLUMNS = ("#1x1", "#3x3 reduce", "#3x3", "#5x5 reduce", "#5x5", "pool proj")
POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d)


def _patch(module: nn.Module, input_shape: tuple[int, ...] | None) -> str:
    """Table 1's "patch size/stride" of a convolution or pooling layer (global pooling: the map it pools)."""
    if isinstance(module, ConvBlock):
        return f"{module.conv.kernel_size[0]}x{module.conv.kernel_size[1]}/{module.conv.stride[0]}"
    if isinstance(module, nn.MaxPool2d):
        return f"{module.kernel_size}x{module.kernel_size}/{module.stride}"
    if isinstance(module, nn.AdaptiveAvgPool2d) and input_shape is not None:  # global pooling = HxW/1
        return f"{input_shape[2]}x{input_shape[3]}/1"
    return ""


def _depth(modules: list[nn.Module]) -> int:
    return sum(m.depth if isinstance(m, InceptionModule)
               else sum(isinstance(s, (nn.Conv2d, nn.Linear)) for s in m.modules()) for m in modules)


def _filters(modules: list[nn.Module]) -> dict[str, int]:
    first = modules[0] if modules else None
    if isinstance(first, InceptionModule):
        return first.filters
    if len(modules) > 1 and all(isinstance(m, ConvBlock) for m in modules[:2]):  # the stem's 1x1 reduce + 3x3
        return {"#3x3 reduce": modules[0].conv.out_channels, "#3x3": modules[1].conv.out_channels}
    return {}


def _diff(ours, printed):
    return pd.NA if printed is None else 100.0 * (ours - printed) / printed


def _against_printed(column: str, ours: int, printed: str | None) -> dict:
    """``ours`` beside Table 1's printed count: the printed value, the difference in percent and whether ours rounds
    to the printed number at the precision it is printed with (``"1M"`` admits 0.5M to 1.5M, ``"2.7K"`` 2.65K to
    2.75K)."""
    value = None if printed is None else paper.printed_value(printed)
    return {column: ours, f"{column} (paper)": value, f"{column} diff %": _diff(ours, value),
            f"{column} as printed": pd.NA if printed is None else abs(ours - value) <= paper.printed_step(printed) / 2}


def table1(model: GoogLeNet | None = None, input_size: int = 224, **options) -> pd.DataFrame:
    """Table 1 recomputed from ``model`` (default: ``googlenet(**options)``, the paper's network) at
    ``input_size`` px, one row per row of the paper's table, next to the paper's printed params and ops.

    ``params`` counts every parameter of the row's modules (weights and biases); ``ops`` are multiply-adds of one
    image. The auxiliary heads are not part of Table 1 (they are dropped at inference); see :func:`summary`.
    The last row, ``total``, sums the columns.
    """
    model = googlenet(**options) if model is None else model
    prof = profile(model, (1, 3, input_size, input_size))
    rows = []
    for row in paper.TABLE1:
        names = ROW_MODULES.get(row.key, (row.key,))
        modules = [model.get_submodule(n) for n in names]
        shape = prof.outputs["fc" if row.key == "softmax" else names[-1]]
        params = count_params(*modules)
        ops = sum(prof.macs.get(n, 0) for n in names)
        pool = next((m for m in modules if isinstance(m, POOLS)), None)
        conv = [m for m in modules if isinstance(m, ConvBlock)]
        patch = _patch(conv[-1], None) if conv else _patch(pool, prof.inputs[names[0]]) if pool else ""
        filters = _filters(modules)
        rows.append({
            "row": row.key, "type": row.type, "patch size/stride": patch,
            "output size": _size(shape), "depth": _depth(modules),
            **{c: filters.get(c, pd.NA) for c in FILTER_COLUMNS},
            **_against_printed("params", params, row.params), **_against_printed("ops", ops, row.ops),
        })
    table = pd.DataFrame(rows).set_index("row")
    total = {"type": "total", "patch size/stride": "", "output size": "", "depth": table["depth"].sum(),
             "params": table["params"].sum(), "params (paper)": table["params (paper)"].sum(),
             "ops": table["ops"].sum(), "ops (paper)": table["ops (paper)"].sum()}
    total["params diff %"] = _diff(total["params"], total["params (paper)"])
    total["ops diff %"] = _diff(total["ops"], total["ops (paper)"])
    table.loc["total"] = pd.Series(total)  # the paper prints no total: "as printed" stays empty
    for column in ("depth", *FILTER_COLUMNS, "params", "params (paper)", "ops", "ops (paper)"):
        table[column] = table[column].astype("Int64")
    for column in ("params diff %", "ops diff %"):
        table[column] = table[column].astype("Float64")
    for column in ("params as printed", "ops as printed"):
        table[column] = table[column].astype("boolean")
    return table


def rows_not_as_printed(table: pd.DataFrame) -> dict[str, list[str]]:
    """The rows of :func:`table1` whose parameters (``"params"``) or multiply-adds (``"ops"``) do not round to the
    numbers Table 1 prints."""
    return {column: [str(key) for key, agrees in table[f"{column} as printed"].items()
                     if agrees is not pd.NA and not agrees] for column in ("params", "ops")}


def summary(model: GoogLeNet | None = None, input_size: int = 224, **options) -> dict[str, int]:
    """Whole-network numbers: parameters without and with the auxiliary heads, inference multiply-adds, depth in
    layers with parameters, and depth counting pooling layers too (Section 5: 22 and 27)."""
    model = googlenet(**options) if model is None else model
    table = table1(model, input_size)
    pools = sum(isinstance(model.get_submodule(key), POOLS) for key in table.index
                if key.startswith(("maxpool", "avgpool")))
    aux = [m for m in (model.aux1, model.aux2) if m is not None]
    return {"params": int(table.loc["total", "params"]),
            "params with aux heads": int(table.loc["total", "params"]) + count_params(*aux),
            "ops": int(table.loc["total", "ops"]),
            "depth": int(table.loc["total", "depth"]),
            "depth with pooling": int(table.loc["total", "depth"]) + pools}


def naive_vs_reduced(model: GoogLeNet | None = None, input_size: int = 224, **options) -> pd.DataFrame:
    """The cost of each inception module with dimension reductions (Figure 2b, as in the model) against the naive
    module of Figure 2a with the same #1x1, #3x3 and #5x5 filters on the same input.

    The ``stacked`` columns follow Section 4's argument one step further: if every module were naive, each would
    receive the previous one's output, which keeps all of its input channels (the pooling branch) and adds its own,
    so widths and costs compound from stage to stage.
    """
    model = googlenet(**options) if model is None else model
    prof = profile(model, (1, 3, input_size, input_size))
    rows, stacked_channels = [], None
    for name, module in model.inception_modules().items():
        n, c, h, w = prof.inputs[name]
        f = module.filters
        naive = NaiveInceptionModule(c, f["#1x1"], f["#3x3"], f["#5x5"])
        stacked_channels = c if stacked_channels is None else stacked_channels
        stacked = NaiveInceptionModule(stacked_channels, f["#1x1"], f["#3x3"], f["#5x5"])
        rows.append({
            "module": name.removeprefix("inception"), "input size": _size(prof.inputs[name]),
            "params (2b)": count_params(module), "params (2a)": count_params(naive),
            "ops (2b)": prof.macs[name], "ops (2a)": profile(naive, (n, c, h, w)).macs[""],
            "output channels (2b)": module.out_channels, "output channels (2a)": naive.out_channels,
            "stacked 2a input channels": stacked_channels, "stacked 2a output channels": stacked.out_channels,
            "stacked 2a ops": profile(stacked, (n, stacked_channels, h, w)).macs[""],
        })
        stacked_channels = stacked.out_channels
    table = pd.DataFrame(rows).set_index("module")
    table.insert(4, "ops ratio 2a/2b", table["ops (2a)"] / table["ops (2b)"])
    return table


def separable_conv1(depth_multiplier: int = 8, input_size: int = 224) -> dict[str, int]:
    """Cost of the first layer if it were a depthwise separable 7x7/2 convolution (each of the 3 input channels
    filtered by ``depth_multiplier`` 7x7 kernels, then a 1x1 convolution to 64 channels), weights only.

    With ``depth_multiplier=8`` this reproduces both numbers Table 1 prints for its first row (2.7K, 34M), which a
    dense 7x7x3x64 convolution does not (see the Architecture chapter)."""
    layer = nn.Sequential(nn.Conv2d(3, 3 * depth_multiplier, 7, stride=2, padding=3, groups=3, bias=False),
                          nn.Conv2d(3 * depth_multiplier, 64, 1, bias=False))
    return {"params": count_params(layer), "ops": profile(layer, (1, 3, input_size, input_size)).macs[""]}


def layer_shapes(model: GoogLeNet | None = None, input_size: int = 224, depth: int = 1, **options) -> pd.DataFrame:
    """The tensor shapes through the network in forward order (eval mode), with each layer's parameters and
    multiply-adds; ``depth=2`` also lists the branches of the inception modules."""
    model = googlenet(**options) if model is None else model
    prof = profile(model, (1, 3, input_size, input_size))
    rows = []
    for name, shape in prof.outputs.items():  # hooks fire in forward order
        if not name or name.count(".") >= depth:
            continue
        module = model.get_submodule(name)
        if isinstance(module, nn.Identity):
            continue
        rows.append({"layer": name, "module": type(module).__name__,
                     "output (C x H x W)": " x ".join(map(str, shape[1:])),
                     "params": count_params(module), "ops": prof.macs.get(name, 0)})
    return pd.DataFrame(rows).set_index("layer")


def table1_audit() -> dict[str, float | int | str]:
    """Where the paper's Table 1 agrees and disagrees with its own filter counts, in numbers (the paper's network,
    224 px). Explained in the Architecture chapter."""
    model = googlenet()
    table = table1(model)
    separable = separable_conv1(depth_multiplier=8)
    modules = [key for key in table.index if key.startswith("inception")]
    params = table.loc[modules, "params diff %"]
    return {
        "ops_within_percent": float(table.loc[["conv2", *modules], "ops diff %"].drop(index="inception5a").abs().max()),
        "ops_5a": int(table.loc["inception5a", "ops"]),
        "ops_5a_diff_percent": float(table.loc["inception5a", "ops diff %"]),
        "params_diff_min_percent": float(params.min()),
        "params_diff_max_percent": float(params.max()),
        "params_diff_worst": str(params.abs().idxmax()).removeprefix("inception"),
        "bias_share_max_percent": 100 * max(1 - count_params(m, biases=False) / count_params(m)
                                            for m in model.inception_modules().values()),
        "conv1_params": int(table.loc["conv1", "params"]),
        "conv1_ops": int(table.loc["conv1", "ops"]),
        "separable_conv1_params": separable["params"],
        "separable_conv1_ops": separable["ops"],
        "total_ops": int(table.loc["total", "ops"]),
        "total_ops_separable_conv1": int(table.loc["total", "ops"] - table.loc["conv1", "ops"] + separable["ops"]),
    }


def widening(widths: tuple[float, ...] = (0.5, 0.75, 1.0, 1.5, 2.0), input_size: int = 224) -> pd.DataFrame:
    """Section 3's warning, counted: parameters and multiply-adds of the paper's network with every filter count
    multiplied by ``width``, and the exponent of their growth with ``width`` (the slope on log-log axes from the
    previous width). Two stacked layers that both widen by k cost k^2 as much, so the exponent approaches 2; the first
    convolution and the classifier, whose input or output is fixed, keep it just below."""
    rows = []
    for width in widths:
        totals = summary(googlenet(width=width), input_size)
        rows.append({"width": width, "params": totals["params"], "ops": totals["ops"]})
    table = pd.DataFrame(rows).set_index("width")
    logs = table.astype(float).apply(lambda column: column.map(math.log))
    log_width = pd.Series(table.index, index=table.index).map(math.log)
    for column in ("params", "ops"):
        table[f"{column} growth exponent"] = logs[column].diff() / log_width.diff()
        table[f"{column} vs width 1"] = table[column] / table.loc[1.0, column] if 1.0 in table.index else float("nan")
    return table


def bottleneck_savings(model: GoogLeNet | None = None, input_size: int = 224, **options) -> pd.DataFrame:
    """Section 4's 1x1 reductions, counted for every inception module: the multiply-adds of its 3x3 and 5x5 branches
    as built (a 1x1 reduction, then the k x k convolution on the reduced channels) against the same k x k convolution
    applied to all of the module's input channels, as in the naive module of Figure 2a."""
    model = googlenet(**options) if model is None else model
    prof = profile(model, (1, 3, input_size, input_size))
    rows = []
    for name, module in model.inception_modules().items():
        n, c, h, w = prof.inputs[name]
        for branch, kernel, reduce, out in (("branch2", 3, "#3x3 reduce", "#3x3"),
                                            ("branch3", 5, "#5x5 reduce", "#5x5")):
            direct = nn.Conv2d(c, module.filters[out], kernel, padding=kernel // 2)
            rows.append({"module": name.removeprefix("inception"), "branch": f"{kernel}x{kernel}",
                         "input channels": c, "reduced to": module.filters[reduce],
                         "output channels": module.filters[out],
                         "ops without reduction": profile(direct, (n, c, h, w)).macs[""],
                         "ops with reduction": prof.macs[f"{name}.{branch}"]})
    table = pd.DataFrame(rows)
    table["saving (x)"] = table["ops without reduction"] / table["ops with reduction"]
    return table


def ops_by_stage(model: GoogLeNet | None = None, input_size: int = 224, **options) -> pd.Series:
    """Multiply-adds at inference per stage of the network (the stem, inception 3, 4 and 5, the classifier): where
    Section 1's budget of 1.5 billion goes."""
    table = table1(model, input_size, **options).drop(index="total")
    stage = table.index.map(lambda key: f"inception {key[9]}" if key.startswith("inception")
                            else "classifier" if key in ("avgpool", "dropout", "fc", "softmax") else "stem")
    return table["ops"].groupby(stage, sort=False).sum()


def network_macs(input_size: int = 224, num_classes: int = 1000, **options) -> int:
    """Multiply-adds of one inference pass (no auxiliary heads: they are dropped at test time) of
    ``googlenet(num_classes, **options)`` on one ``input_size`` image."""
    with torch.device("meta"):  # shapes only: nothing is allocated or initialized
        model = googlenet(num_classes, **{**options, "aux_heads": False})
    return profile(model, (1, 3, input_size, input_size)).macs[""]


def equal_cost_scale(blocks: str, input_size: int = 224, num_classes: int = 1000, **options) -> float:
    """The ``block_scale`` at which the network with ``blocks`` in Table 1's inception rows (``"naive"`` or
    ``"plain"``, see :data:`reproduce.models.blocks.BLOCK_CHOICES`) costs as many multiply-adds per image as
    GoogLeNet with the same other ``options`` at ``input_size``: found by bisection, the cost growing with the scale.
    Channel counts are whole numbers, so the two costs agree to within the step of one channel per block."""
    target = network_macs(input_size, num_classes, **options)

    def cost(scale: float) -> int:
        return network_macs(input_size, num_classes, **{**options, "blocks": blocks, "block_scale": scale})

    low, high = 1e-3, 1.0
    while cost(high) < target:
        low, high = high, high * 2
    for _ in range(16):
        middle = (low * high) ** 0.5
        if cost(middle) < target:
            low = middle
        else:
            high = middle
    return min((low, high), key=lambda scale: abs(cost(scale) - target))
