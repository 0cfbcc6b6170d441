"""Build the EfficientNet-Lite0 ONNX graph from its state dict (build time only).

The network (names as in the state dict, EfficientNet-PyTorch layout)::

    _conv_stem 3x3/2 -> _bn0 -> ReLU6
    _blocks.0 .. _blocks.15   mobile inverted bottlenecks, no squeeze-excite:
        [_expand_conv 1x1 -> _bn0 -> ReLU6]   (absent when the expand ratio is 1)
        _depthwise_conv kxk/s -> _bn1 -> ReLU6
        _project_conv 1x1 -> _bn2             (linear)
        + input, when stride is 1 and channels in == out
    _conv_head 1x1 -> _bn1 -> ReLU6
    global average pool -> _fc (1280 -> 1000 logits)

Stages begin where a block changes the channel count; the first block of stage i has
stride ``STAGE_STRIDES[i]``, the others stride 1. Every BatchNorm (eps 1e-3) is
folded into the convolution before it (in float64, rounded to float32). Convolutions
use TensorFlow "SAME" padding, computed here as explicit (possibly asymmetric) pads for
a 224x224 input.

Weights stored as float16 (the default, what the app ships): the float32 weight ``X``
of every 1x1 conv (expansion, projection, head) and of the classifier (``_fc``), 4.43M
of the 4.63M parameters, is rounded to float16 as ``X.fp16`` (round to nearest even) and
a ``Cast`` to float32 named ``X`` feeds the node that used it; onnxruntime folds those
Casts into float32 constants when it creates the session, so inference runs in float32
as before. The stem and depthwise convs and every bias stay float32 (0.19M parameters):
a depthwise output sums only 9 or 25 weights, each carrying its folded BatchNorm scale.
On the development photos (tests/fixtures/quality) rounding those too moved the
probabilities by up to 0.012 and changed one top-1 label and two tag decisions; as
chosen, by at most 0.0023 and none. The file is 9.7 MB instead of 18.5 MB (all
float16: 9.3 MB).

The model is described with the in-house :mod:`.onnx_proto` writer, not the ``onnx``
package (see that module for why).

Graph contract: input ``"input"`` float32 ``[N, 3, 224, 224]`` (N dynamic), already
normalised as ``(pixel - 127) / 128``; output ``"logits"`` float32 ``[N, 1000]``
(pre-softmax, ImageNet-1k class order).
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .onnx_proto import FLOAT, Graph, Model, Node, Tensor, ValueInfo

INPUT_NAME = "input"
OUTPUT_NAME = "logits"
INPUT_SIZE = 224
NUM_CLASSES = 1000
BN_EPS = 1e-3
STAGE_STRIDES: tuple[int, ...] = (1, 2, 2, 2, 1, 2, 1)
OPSET = 17
IR_VERSION = 8  # old enough for any onnxruntime that supports opset 17
FP16_SUFFIX = ".fp16"  # name of the float16 initializer behind the float32 tensor X: X.fp16


def same_pads(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """TensorFlow SAME padding along one axis.

    Returns ``(pad_before, pad_after, out_size)`` with ``out_size = ceil(size / stride)``;
    the odd pixel of padding goes after, as in TensorFlow.
    """
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2, out


@dataclass(frozen=True)
class BlockSpec:
    """One inverted-bottleneck block as read from the state dict."""

    index: int
    in_channels: int
    expanded: int  # channels after the 1x1 expansion (== in_channels when absent)
    out_channels: int
    kernel: int
    stride: int
    has_expand: bool

    @property
    def residual(self) -> bool:
        return self.stride == 1 and self.in_channels == self.out_channels


def block_specs(state: dict[str, np.ndarray]) -> list[BlockSpec]:
    """Derive the block layout (channels, kernels, strides) from parameter names and shapes."""
    indices = sorted({int(m.group(1)) for k in state if (m := re.match(r"_blocks\.(\d+)\.", k))})
    if indices != list(range(len(indices))) or not indices:
        raise ValueError("state dict has no contiguous _blocks.N entries")
    specs: list[BlockSpec] = []
    stage = -1
    previous_out = int(state["_conv_stem.weight"].shape[0])
    for i in indices:
        prefix = f"_blocks.{i}."
        dw = state[prefix + "_depthwise_conv.weight"]
        proj = state[prefix + "_project_conv.weight"]
        has_expand = prefix + "_expand_conv.weight" in state
        in_channels = int(state[prefix + "_expand_conv.weight"].shape[1]) if has_expand else int(dw.shape[0])
        if in_channels != previous_out:
            raise ValueError(f"block {i} takes {in_channels} channels but receives {previous_out}")
        out_channels = int(proj.shape[0])
        first_of_stage = in_channels != out_channels or i == 0
        if first_of_stage:
            stage += 1
            if stage >= len(STAGE_STRIDES):
                raise ValueError("more stages in the state dict than STAGE_STRIDES describes")
        stride = STAGE_STRIDES[stage] if first_of_stage else 1
        specs.append(
            BlockSpec(i, in_channels, int(dw.shape[0]), out_channels, int(dw.shape[-1]), stride, has_expand)
        )
        previous_out = out_channels
    if stage != len(STAGE_STRIDES) - 1:
        raise ValueError(f"found {stage + 1} stages, expected {len(STAGE_STRIDES)}")
    return specs


def fold_batchnorm(
    weight: np.ndarray, state: dict[str, np.ndarray], bn: str, eps: float = BN_EPS
) -> tuple[np.ndarray, np.ndarray]:
    """Fold BatchNorm ``bn`` (inference statistics) into a bias-free conv weight.

    Returns ``(weight', bias')`` in float32 with
    ``weight' = weight * gamma / sqrt(var + eps)`` per output channel and
    ``bias' = beta - mean * gamma / sqrt(var + eps)``.
    """
    gamma = state[bn + ".weight"].astype(np.float64)
    beta = state[bn + ".bias"].astype(np.float64)
    mean = state[bn + ".running_mean"].astype(np.float64)
    var = state[bn + ".running_var"].astype(np.float64)
    scale = gamma / np.sqrt(var + eps)
    folded = weight.astype(np.float64) * scale.reshape((-1,) + (1,) * (weight.ndim - 1))
    return folded.astype(np.float32), (beta - mean * scale).astype(np.float32)


class _GraphBuilder:
    def __init__(self, state: dict[str, np.ndarray]) -> None:
        self.state = state
        self.nodes: list[Node] = []
        self.initializers: list[Tensor] = []
        self.size = INPUT_SIZE  # current spatial size (square)
        self._clip_bounds_added = False

    def _init(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(Tensor(name, np.asarray(array)))  # 0-d scalars stay 0-d
        return name

    def conv_bn(self, x: str, conv: str, bn: str, stride: int, group: int, out: str) -> str:
        weight, bias = fold_batchnorm(self.state[conv + ".weight"], self.state, bn)
        kernel = int(weight.shape[-1])
        before, after, out_size = same_pads(self.size, kernel, stride)
        w = self._init(conv + ".weight", weight)
        b = self._init(conv + ".bias", bias)
        self.nodes.append(
            Node(
                "Conv",
                [x, w, b],
                [out],
                name=conv,
                attributes={
                    "kernel_shape": [kernel, kernel],
                    "strides": [stride, stride],
                    "pads": [before, before, after, after],
                    "group": group,
                },
            )
        )
        self.size = out_size
        return out

    def relu6(self, x: str, out: str) -> str:
        if not self._clip_bounds_added:
            self._init("relu6.min", np.array(0.0, dtype=np.float32))
            self._init("relu6.max", np.array(6.0, dtype=np.float32))
            self._clip_bounds_added = True
        self.nodes.append(Node("Clip", [x, "relu6.min", "relu6.max"], [out], name=out))
        return out

    def block(self, x: str, spec: BlockSpec) -> str:
        p = f"_blocks.{spec.index}."
        h = x
        if spec.has_expand:
            h = self.conv_bn(h, p + "_expand_conv", p + "_bn0", 1, 1, p + "expand")
            h = self.relu6(h, p + "expand.relu6")
        h = self.conv_bn(h, p + "_depthwise_conv", p + "_bn1", spec.stride, spec.expanded, p + "depthwise")
        h = self.relu6(h, p + "depthwise.relu6")
        h = self.conv_bn(h, p + "_project_conv", p + "_bn2", 1, 1, p + "project")
        if spec.residual:
            out = p + "add"
            self.nodes.append(Node("Add", [h, x], [out], name=out))
            h = out
        return h


def stored_as_float16(name: str) -> bool:
    """True for the initializers the shipped model keeps as float16 (see the module
    docstring): the weights of every 1x1 conv (expansion, projection, head) and of the
    classifier; not the stem's, the depthwise convs' or any bias."""
    return name.endswith(".weight") and (
        name.startswith(("_conv_head.", "_fc.")) or "._expand_conv." in name or "._project_conv." in name
    )


def to_float16(
    initializers: list[Tensor], nodes: list[Node], select: Callable[[str], bool] = stored_as_float16
) -> tuple[list[Tensor], list[Node]]:
    """Each float32 initializer ``X`` that ``select(X)`` picks stored as float16 ``X.fp16``
    plus a ``Cast`` node (named ``X.cast``) that gives ``X`` back in float32; the Casts
    go first, in the initializers' order, so the node list stays topologically sorted.
    Other initializers are kept as they are. Raises ValueError when a value does not
    fit float16 (|x| > 65504 would become inf)."""
    stored: list[Tensor] = []
    casts: list[Node] = []
    for tensor in initializers:
        if tensor.array.dtype != np.float32 or not select(tensor.name):
            stored.append(tensor)
            continue
        half = tensor.array.astype(np.float16)
        if not np.isfinite(half).all():
            raise ValueError(f"initializer {tensor.name} does not fit float16")
        stored_name = tensor.name + FP16_SUFFIX
        stored.append(Tensor(stored_name, half))
        casts.append(Node("Cast", [stored_name], [tensor.name], name=f"{tensor.name}.cast", attributes={"to": FLOAT}))
    return stored, casts + nodes


def build_model(state: dict[str, np.ndarray], *, fp16: bool = True) -> Model:
    """Build the EfficientNet-Lite0 ONNX model from a state dict (see module docstring).

    state: parameter name -> numpy array, as returned by
    :func:`tools.model_builds.efficientnet_lite0.pth.read_state_dict`.
    fp16: store the weights :func:`stored_as_float16` picks as float16 + Cast (what
    the app ships); False keeps every weight float32 (the reference the shipped model is
    measured against).
    Returns the model in memory; ``.to_bytes()`` serialises it (ModelProto bytes), the
    same bytes for the same state dict. The tests run ``onnx.checker`` (full check) on
    them.
    """
    g = _GraphBuilder(state)
    x = g.conv_bn(INPUT_NAME, "_conv_stem", "_bn0", 2, 1, "stem")
    x = g.relu6(x, "stem.relu6")
    for spec in block_specs(state):
        x = g.block(x, spec)
    x = g.conv_bn(x, "_conv_head", "_bn1", 1, 1, "head")
    x = g.relu6(x, "head.relu6")
    g.nodes.append(Node("GlobalAveragePool", [x], ["pool"], name="pool"))
    g.nodes.append(Node("Flatten", ["pool"], ["features"], name="flatten", attributes={"axis": 1}))
    fc_w = g._init("_fc.weight", state["_fc.weight"].astype(np.float32))
    fc_b = g._init("_fc.bias", state["_fc.bias"].astype(np.float32))
    g.nodes.append(Node("Gemm", ["features", fc_w, fc_b], [OUTPUT_NAME], name="_fc", attributes={"transB": 1}))

    initializers, nodes = to_float16(g.initializers, g.nodes) if fp16 else (g.initializers, g.nodes)
    graph = Graph(
        "efficientnet-lite0",
        nodes,
        initializers,
        [ValueInfo(INPUT_NAME, FLOAT, ["N", 3, INPUT_SIZE, INPUT_SIZE])],
        [ValueInfo(OUTPUT_NAME, FLOAT, ["N", NUM_CLASSES])],
    )
    weights = "1x1 conv and fc weights float16 + Cast to float32" if fp16 else "weights float32"
    return Model(
        graph,
        opsets={"": OPSET},
        ir_version=IR_VERSION,
        producer_name="tools.model_builds.efficientnet_lite0",
        doc_string=f"EfficientNet-Lite0 (ImageNet-1k), BatchNorm folded, TF SAME padding for 224x224 input, {weights}",
    )
