"""Build-time model builders (never deployed): name -> ``build(source: bytes) -> bytes``,
deterministic (the same input gives the same bytes), used by tools/weights.py for a
manifest file entry that names a ``build``."""
from __future__ import annotations

from collections.abc import Callable

from . import efficientnet_lite0

BUILDERS: dict[str, Callable[[bytes], bytes]] = {
    "efficientnet-lite0-onnx-fp16": efficientnet_lite0.build,
}
