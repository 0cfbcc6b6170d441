"""Reading the EfficientNet-Lite0 ``.pth`` without torch (build time): allow-list, layout."""
from __future__ import annotations

import hashlib
import io
import os
import pickle
import struct
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tools.model_builds.efficientnet_lite0.pth import (
    RestrictedUnpickler,
    UnsafeWeightsError,
    WeightsError,
    parse_state_dict,
    read_state_dict,
)

from .conftest import MODEL_FILE

MAGIC = 0x1950A86A20F9469CFC6C


class _Payload:
    """Pickles as a call to ``func(*args)``: what a hostile weights file would carry."""

    def __init__(self, func: object, *args: object) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return self.func, self.args


def _legacy_file(main: bytes, keys: list[str] | None = None, storages: bytes = b"") -> io.BytesIO:
    """A legacy torch file around an arbitrary main pickle."""
    out = io.BytesIO()
    for header in (MAGIC, 1001, {"protocol_version": 1001, "little_endian": True, "type_sizes": {}}):
        pickle.dump(header, out, protocol=2)
    out.write(main)
    pickle.dump(keys or [], out, protocol=2)
    out.write(storages)
    out.seek(0)
    return out


def test_the_manifest_pins_the_installed_wheels_file(manifest: dict[str, Any], source: bytes) -> None:
    assert hashlib.sha256(source).hexdigest() == manifest["files"][MODEL_FILE]["sha256"]


def test_state_dict_layout(state: dict[str, np.ndarray]) -> None:
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert state["_fc.bias"].shape == (1000,)
    assert state["_conv_head.weight"].shape == (1280, 320, 1, 1)
    blocks = {int(k.split(".")[1]) for k in state if k.startswith("_blocks.")}
    assert blocks == set(range(16))
    floats = [v for k, v in state.items() if not k.endswith("num_batches_tracked")]
    assert all(v.dtype == np.float32 and v.flags.c_contiguous for v in floats)
    assert all(np.isfinite(v).all() for v in floats)
    assert (state["_bn0.running_var"] >= 0).all()  # some channels are dead (0); eps keeps the fold finite


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(lambda marker: _Payload(os.system, f"touch {marker}"), id="os.system"),
        pytest.param(lambda marker: _Payload(exec, f"open({str(marker)!r}, 'w').close()"), id="builtins.exec"),
        pytest.param(lambda marker: _Payload(Path.touch, marker), id="pathlib.Path.touch"),
    ],
)
def test_restricted_unpickler_refuses_code_execution(tmp_path: Path, payload) -> None:
    marker = tmp_path / "pwned"
    evil = pickle.dumps(payload(marker), protocol=2)

    with pytest.raises(UnsafeWeightsError, match="not on the allow-list"):
        RestrictedUnpickler(io.BytesIO(evil)).load()
    # the same payload as the state dict of an otherwise well-formed legacy file
    with pytest.raises(UnsafeWeightsError):
        parse_state_dict(_legacy_file(evil))
    # nested inside an OrderedDict, next to allowed names
    nested = pickle.dumps(OrderedDict(a=payload(marker)), protocol=2)
    with pytest.raises(UnsafeWeightsError):
        RestrictedUnpickler(io.BytesIO(nested)).load()
    assert not marker.exists(), "the payload ran"


def test_header_pickles_allow_no_globals(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    out = io.BytesIO()
    pickle.dump(_Payload(os.system, f"touch {marker}"), out, protocol=2)
    out.seek(0)
    with pytest.raises(UnsafeWeightsError):
        parse_state_dict(out)
    assert not marker.exists()


def test_unknown_persistent_ids_are_refused() -> None:
    class Pickler(pickle.Pickler):
        def persistent_id(self, obj: object) -> object:
            return ("module", "os", "system") if obj == "x" else None

    out = io.BytesIO()
    Pickler(out, protocol=2).dump({"w": "x"})
    with pytest.raises(UnsafeWeightsError, match="persistent id"):
        RestrictedUnpickler(io.BytesIO(out.getvalue())).load()


def _u(text: str) -> bytes:
    """BINUNICODE opcode."""
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def _tensor_pickle(size: tuple[int, int], stride: tuple[int, int], numel: int) -> bytes:
    """Protocol-2 opcodes of ``OrderedDict(w=<tensor over storage "0">)``, as torch writes them."""
    pid = b"(" + _u("storage") + b"ctorch\nFloatStorage\n" + _u("0") + _u("cpu") + b"K" + bytes([numel]) + b"NtQ"
    args = (
        b"(" + pid + b"K\x00"
        + b"K" + bytes([size[0]]) + b"K" + bytes([size[1]]) + b"\x86"
        + b"K" + bytes([stride[0]]) + b"K" + bytes([stride[1]]) + b"\x86"
        + b"\x89" + b"ccollections\nOrderedDict\n)R" + b"t"
    )
    return (
        b"\x80\x02ccollections\nOrderedDict\n)R"
        + _u("w") + b"ctorch._utils\n_rebuild_tensor_v2\n" + args + b"R" + b"s."
    )


def test_a_minimal_legacy_file_round_trips() -> None:
    """A hand-assembled file in the legacy layout: a 3x2 transposed view of 6 floats."""
    data = np.arange(6, dtype="<f4")
    main = _tensor_pickle((3, 2), (1, 3), 6)
    blob = struct.pack("<q", 6) + data.tobytes()
    result = parse_state_dict(_legacy_file(main, ["0"], blob))
    assert list(result) == ["w"]
    np.testing.assert_array_equal(result["w"], data.reshape(2, 3).T)

    with pytest.raises(WeightsError, match="truncated"):
        parse_state_dict(_legacy_file(main, ["0"], blob[:-4]))
    with pytest.raises(WeightsError, match="header says"):
        parse_state_dict(_legacy_file(main, ["0"], struct.pack("<q", 5) + data.tobytes()))
    with pytest.raises(WeightsError, match="outside its storage"):
        parse_state_dict(_legacy_file(_tensor_pickle((3, 3), (1, 3), 6), ["0"], blob))
    with pytest.raises(WeightsError, match="storage key list"):
        parse_state_dict(_legacy_file(main, ["1"], blob))


def test_truncated_file_is_rejected(source: bytes) -> None:
    with pytest.raises(WeightsError, match="truncated"):
        read_state_dict(source[:-10])
    with pytest.raises(WeightsError, match="unexpected bytes"):
        read_state_dict(source + b"\0")
