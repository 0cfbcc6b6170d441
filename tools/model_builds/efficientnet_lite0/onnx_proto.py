"""A minimal ONNX model writer: protobuf wire format without ``onnx`` or ``protobuf``.

Why not ``onnx``: this writer runs when the app is built (tools/weights.py, from
``make install`` and azd's prepackage hook) in an environment that has the app's
runtime requirements (numpy) and no more. ``onnx`` and ``protobuf`` are not among them
and must not be: the deployed app runs with the Functions worker's own protobuf 4.x
first on ``sys.path``, and ``onnx`` needs protobuf >= 6.31. ``onnx`` stays a dev/test
dependency: the tests parse and check this module's output with it.

Scope: only what a plain inference graph needs, i.e. these messages of ``onnx.proto``
(IR version 3+), with their field numbers from that file:

=====================  ==========================================================
ModelProto             ir_version 1, producer_name 2, doc_string 6, graph 7,
                       opset_import 8
OperatorSetIdProto     domain 1, version 2
GraphProto             node 1, name 2, initializer 5, doc_string 10, input 11,
                       output 12
NodeProto              input 1, output 2, name 3, op_type 4, attribute 5, domain 7
AttributeProto         name 1, f 2, i 3, s 4, ints 8, type 20
TensorProto            dims 1, data_type 2, name 8, raw_data 9
ValueInfoProto         name 1, type 2
TypeProto              tensor_type 1 -> TypeProto.Tensor: elem_type 1, shape 2
TensorShapeProto       dim 1 -> Dimension: dim_value 1 | dim_param 2
=====================  ==========================================================

Encoding contract: every message is written with its fields in ascending field-number
order, unset optional fields omitted, repeated scalars unpacked (``onnx.proto`` is
proto2 and declares none of these ``[packed = true]``), node attributes sorted by name.
That is the canonical form protobuf itself produces, so for the same content the
output is byte-identical to ``onnx.helper``'s ``SerializeToString()`` (the tests check
this). Tensor data goes in ``raw_data``, little-endian, row-major.

Protobuf wire format in brief: a field is a key ``varint(field_number << 3 | wire_type)``
followed by its value; wire type 0 = varint (unsigned base-128, least significant group
first; negative int64 as its 64-bit two's complement), 2 = length-delimited (varint byte
length, then the bytes: strings, bytes, embedded messages), 5 = fixed32 (float, little
endian).
"""
from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

_VARINT = 0
_LENGTH_DELIMITED = 2
_FIXED32 = 5

#: TensorProto.DataType values for the numpy dtypes this writer accepts.
DATA_TYPES: Mapping[np.dtype, int] = {
    np.dtype(np.float32): 1,
    np.dtype(np.uint8): 2,
    np.dtype(np.int8): 3,
    np.dtype(np.int32): 6,
    np.dtype(np.int64): 7,
    np.dtype(np.float16): 10,
    np.dtype(np.float64): 11,
}
FLOAT = DATA_TYPES[np.dtype(np.float32)]
FLOAT16 = DATA_TYPES[np.dtype(np.float16)]

# AttributeProto.AttributeType values.
_ATTR_FLOAT, _ATTR_INT, _ATTR_STRING, _ATTR_INTS = 1, 2, 3, 7

AttributeValue = int | float | str | Sequence[int]
_Chunk = bytes | memoryview


def varint(value: int) -> bytes:
    """Base-128 varint of ``value``; a negative value (int32/int64 fields) is encoded as
    its 64-bit two's complement, ten bytes, as protobuf does. Raises ValueError outside
    the int64/uint64 range."""
    if not -(1 << 63) <= value < (1 << 64):
        raise ValueError(f"{value} does not fit a 64-bit varint")
    value &= (1 << 64) - 1
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


class _Message:
    """One message being encoded: its fields as a list of chunks plus their total size.

    Embedded messages add a key and length prefix in front of the child's chunks instead
    of copying them, so tensor data is copied once, by :meth:`to_bytes`.
    """

    def __init__(self) -> None:
        self.chunks: list[_Chunk] = []
        self.size = 0

    def _add(self, chunk: _Chunk) -> None:
        self.chunks.append(chunk)
        self.size += len(chunk)  # chunks are bytes or byte-format memoryviews

    def _key(self, number: int, wire_type: int) -> None:
        self._add(varint(number << 3 | wire_type))

    def add_int(self, number: int, value: int) -> _Message:
        """A varint field (int32, int64, enum)."""
        self._key(number, _VARINT)
        self._add(varint(value))
        return self

    def add_ints(self, number: int, values: Iterable[int]) -> _Message:
        """An unpacked repeated varint field: one key per element."""
        for value in values:
            self.add_int(number, value)
        return self

    def add_float(self, number: int, value: float) -> _Message:
        """A ``float`` field (fixed32, IEEE 754 single, little endian)."""
        self._key(number, _FIXED32)
        self._add(struct.pack("<f", value))
        return self

    def add_bytes(self, number: int, data: _Chunk) -> _Message:
        """A ``bytes`` field; a memoryview is kept as is until :meth:`to_bytes`."""
        self._key(number, _LENGTH_DELIMITED)
        self._add(varint(len(data)))
        self._add(data)
        return self

    def add_string(self, number: int, text: str) -> _Message:
        """A ``string`` field, UTF-8."""
        return self.add_bytes(number, text.encode("utf-8"))

    def add_strings(self, number: int, texts: Iterable[str]) -> _Message:
        for text in texts:
            self.add_string(number, text)
        return self

    def add_message(self, number: int, child: _Message) -> _Message:
        """An embedded message field."""
        self._key(number, _LENGTH_DELIMITED)
        self._add(varint(child.size))
        self.chunks.extend(child.chunks)
        self.size += child.size
        return self

    def add_messages(self, number: int, children: Iterable[_Message]) -> _Message:
        for child in children:
            self.add_message(number, child)
        return self

    def to_bytes(self) -> bytes:
        return b"".join(self.chunks)


@dataclass(frozen=True, eq=False)
class Tensor:
    """TensorProto: a named constant (an initializer), data in ``raw_data``.

    array: any shape including 0-d, dtype one of :data:`DATA_TYPES`; it is not copied,
    so do not modify it before the model is serialised.
    """

    name: str
    array: np.ndarray

    def __post_init__(self) -> None:
        _data_type(self.array.dtype, self.name)

    def _encode(self) -> _Message:
        data_type = _data_type(self.array.dtype, self.name)
        little = np.ascontiguousarray(self.array, dtype=self.array.dtype.newbyteorder("<"))
        # reshape(-1): a 0-d array still gives its one element; cast("B"): len() = byte count
        data = little.reshape(-1).data.cast("B")
        message = _Message().add_ints(1, self.array.shape).add_int(2, data_type)
        return message.add_string(8, self.name).add_bytes(9, data)


def _data_type(dtype: np.dtype, name: str) -> int:
    found = DATA_TYPES.get(dtype.newbyteorder("="))
    if found is None:
        raise ValueError(f"tensor {name!r}: unsupported dtype {dtype}")
    return found


@dataclass(frozen=True)
class ValueInfo:
    """ValueInfoProto of a tensor graph input or output.

    elem_type: a TensorProto.DataType value (e.g. :data:`FLOAT`).
    shape: one entry per axis, an int for a fixed size or a str naming a dynamic one.
    """

    name: str
    elem_type: int
    shape: Sequence[int | str]

    def _encode(self) -> _Message:
        shape = _Message()
        for dim in self.shape:
            if isinstance(dim, str):
                shape.add_message(1, _Message().add_string(2, dim))
            else:
                shape.add_message(1, _Message().add_int(1, dim))
        tensor_type = _Message().add_int(1, self.elem_type).add_message(2, shape)
        return _Message().add_string(1, self.name).add_message(2, _Message().add_message(1, tensor_type))


def _attribute(name: str, value: AttributeValue) -> _Message:
    message = _Message().add_string(1, name)
    if isinstance(value, bool):
        raise TypeError(f"attribute {name!r}: give a bool as 0 or 1")
    if isinstance(value, int):
        return message.add_int(3, value).add_int(20, _ATTR_INT)
    if isinstance(value, float):
        return message.add_float(2, value).add_int(20, _ATTR_FLOAT)
    if isinstance(value, str):
        return message.add_string(4, value).add_int(20, _ATTR_STRING)
    values = list(value)
    if not values or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise TypeError(f"attribute {name!r}: only int, float, str or a non-empty list of ints")
    return message.add_ints(8, values).add_int(20, _ATTR_INTS)


@dataclass(frozen=True)
class Node:
    """NodeProto: one operator call.

    attributes: name -> int (INT), float (FLOAT), str (STRING) or a non-empty sequence
    of ints (INTS); written sorted by name.
    domain: the operator set's domain, "" (the default ONNX domain) is not written.
    """

    op_type: str
    inputs: Sequence[str]
    outputs: Sequence[str]
    name: str = ""
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)
    domain: str = ""

    def _encode(self) -> _Message:
        message = _Message().add_strings(1, self.inputs).add_strings(2, self.outputs)
        if self.name:
            message.add_string(3, self.name)
        message.add_string(4, self.op_type)
        message.add_messages(5, (_attribute(k, self.attributes[k]) for k in sorted(self.attributes)))
        if self.domain:
            message.add_string(7, self.domain)
        return message


@dataclass(frozen=True, eq=False)
class Graph:
    """GraphProto: nodes in topological order, initializers, inputs and outputs."""

    name: str
    nodes: Sequence[Node]
    initializers: Sequence[Tensor]
    inputs: Sequence[ValueInfo]
    outputs: Sequence[ValueInfo]
    doc_string: str = ""

    def _encode(self) -> _Message:
        message = (
            _Message()
            .add_messages(1, (node._encode() for node in self.nodes))
            .add_string(2, self.name)
            .add_messages(5, (tensor._encode() for tensor in self.initializers))
        )
        if self.doc_string:
            message.add_string(10, self.doc_string)
        return message.add_messages(11, (v._encode() for v in self.inputs)).add_messages(
            12, (v._encode() for v in self.outputs)
        )


@dataclass(frozen=True, eq=False)
class Model:
    """ModelProto: a graph plus the IR version and operator sets it was written for.

    opsets: domain -> version; ``{"": 17}`` is ONNX opset 17. Each is written with its
    domain, even "" (as ``onnx.helper.make_opsetid`` does).
    """

    graph: Graph
    opsets: Mapping[str, int]
    ir_version: int
    producer_name: str = ""
    doc_string: str = ""

    def to_bytes(self) -> bytes:
        """The serialised ModelProto, ready for ``onnxruntime.InferenceSession(bytes)``."""
        message = _Message().add_int(1, self.ir_version)
        if self.producer_name:
            message.add_string(2, self.producer_name)
        if self.doc_string:
            message.add_string(6, self.doc_string)
        message.add_message(7, self.graph._encode())
        for domain, version in self.opsets.items():
            message.add_message(8, _Message().add_string(1, domain).add_int(2, version))
        return message.to_bytes()
