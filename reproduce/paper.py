"""The numbers the paper prints, transcribed once, so that code can check the model against them.

Szegedy et al., "Going Deeper with Convolutions", arXiv:1409.4842, Table 1 (the GoogLeNet incarnation) and the text
of Sections 5 and 7.
"""

from __future__ import annotations

from typing import NamedTuple, Optional


class Table1Row(NamedTuple):
    key: str  # our name for the row
    type: str
    patch: str  # patch size / stride
    output: str  # H x W x C
    depth: int
    filters: Optional[tuple[int, int, int, int, int, int]]  # #1x1, #3x3 red, #3x3, #5x5 red, #5x5, pool proj
    params: Optional[str]  # as printed: "2.7K" (read with printed_value and printed_step)
    ops: Optional[str]  # multiply-adds as printed: "34M"


_UNITS = {"K": 1_000, "M": 1_000_000}


def printed_value(text: str) -> int:
    """A count as Table 1 prints it, as a number: ``"2.7K"`` -> 2700, ``"34M"`` -> 34000000."""
    return round(float(text[:-1]) * _UNITS[text[-1]])


def printed_step(text: str) -> float:
    """The unit of the last digit Table 1 prints of a count: ``"2.7K"`` -> 100, ``"34M"`` -> 1000000, ``"1000K"`` ->
    1000. A count agrees with the printed one when it rounds to it: it lies within half a step."""
    mantissa = text[:-1]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return _UNITS[text[-1]] / 10 ** decimals


TABLE1 = (
    Table1Row("conv1", "convolution", "7x7/2", "112x112x64", 1, None, "2.7K", "34M"),
    Table1Row("maxpool1", "max pool", "3x3/2", "56x56x64", 0, None, None, None),
    Table1Row("conv2", "convolution", "3x3/1", "56x56x192", 2, (0, 64, 192, 0, 0, 0), "112K", "360M"),
    Table1Row("maxpool2", "max pool", "3x3/2", "28x28x192", 0, None, None, None),
    Table1Row("inception3a", "inception (3a)", "", "28x28x256", 2, (64, 96, 128, 16, 32, 32), "159K", "128M"),
    Table1Row("inception3b", "inception (3b)", "", "28x28x480", 2, (128, 128, 192, 32, 96, 64), "380K", "304M"),
    Table1Row("maxpool3", "max pool", "3x3/2", "14x14x480", 0, None, None, None),
    Table1Row("inception4a", "inception (4a)", "", "14x14x512", 2, (192, 96, 208, 16, 48, 64), "364K", "73M"),
    Table1Row("inception4b", "inception (4b)", "", "14x14x512", 2, (160, 112, 224, 24, 64, 64), "437K", "88M"),
    Table1Row("inception4c", "inception (4c)", "", "14x14x512", 2, (128, 128, 256, 24, 64, 64), "463K", "100M"),
    Table1Row("inception4d", "inception (4d)", "", "14x14x528", 2, (112, 144, 288, 32, 64, 64), "580K", "119M"),
    Table1Row("inception4e", "inception (4e)", "", "14x14x832", 2, (256, 160, 320, 32, 128, 128), "840K", "170M"),
    Table1Row("maxpool4", "max pool", "3x3/2", "7x7x832", 0, None, None, None),
    Table1Row("inception5a", "inception (5a)", "", "7x7x832", 2, (256, 160, 320, 32, 128, 128), "1072K", "54M"),
    Table1Row("inception5b", "inception (5b)", "", "7x7x1024", 2, (384, 192, 384, 48, 128, 128), "1388K", "71M"),
    Table1Row("avgpool", "avg pool", "7x7/1", "1x1x1024", 0, None, None, None),
    Table1Row("dropout", "dropout (40%)", "", "1x1x1024", 0, None, None, None),
    Table1Row("fc", "linear", "", "1x1x1000", 1, None, "1000K", "1M"),
    Table1Row("softmax", "softmax", "", "1x1x1000", 0, None, None, None),
)

#: Section 5: "The network is 22 layers deep when counting only layers with parameters (or 27 layers if we also count
#: pooling)". Section 1: the design keeps "a computational budget of 1.5 billion multiply-adds at inference time".
DEPTH_WITH_PARAMETERS = 22
DEPTH_WITH_POOLING = 27
INFERENCE_MULTIPLY_ADDS = 1.5e9


class Table3Row(NamedTuple):
    models: int
    crops: int
    cost: int  # forward passes per image
    top5_error: float  # on the ILSVRC 2014 validation set, in percent
    vs_base: Optional[float]  # percentage points against 1 model, 1 crop, as printed (None for the base); the last
    # row prints -3.45 where its error gives -3.40


#: Table 3 of Section 7: GoogLeNet classification performance break down.
TABLE3 = (
    Table3Row(1, 1, 1, 10.07, None),
    Table3Row(1, 10, 10, 9.15, -0.92),
    Table3Row(1, 144, 144, 7.89, -2.18),
    Table3Row(7, 1, 7, 8.09, -1.98),
    Table3Row(7, 10, 70, 7.62, -2.45),
    Table3Row(7, 144, 1008, 6.67, -3.45),
)
