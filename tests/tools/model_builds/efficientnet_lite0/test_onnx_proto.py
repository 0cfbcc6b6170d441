"""The in-house ONNX writer (tools/model_builds/efficientnet_lite0/onnx_proto.py) against the onnx package.

Every message the writer produces must be byte-identical to what ``onnx.helper`` +
protobuf serialise for the same content, and the whole classifier model must give the
same onnxruntime outputs as the onnx-built one.
"""
from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import given
from hypothesis import strategies as st
from onnx import helper, numpy_helper
from PIL import Image

from tagging.core.classify.model import prepare_image
from tools.model_builds.efficientnet_lite0 import graph as classifier_graph
from tools.model_builds.efficientnet_lite0.onnx_proto import (
    DATA_TYPES,
    FLOAT,
    FLOAT16,
    Graph,
    Model,
    Node,
    Tensor,
    ValueInfo,
    _attribute,
    varint,
)

PHOTOS = Path(__file__).resolve().parents[3] / "fixtures" / "photos"
INT64 = st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1)


def to_onnx(model: Model) -> onnx.ModelProto:
    """The same model built with onnx.helper: an independent encoder to compare with."""
    g = model.graph
    graph = helper.make_graph(
        [
            helper.make_node(
                n.op_type, list(n.inputs), list(n.outputs), name=n.name or None, domain=n.domain or None, **n.attributes
            )
            for n in g.nodes
        ],
        g.name,
        [helper.make_tensor_value_info(v.name, v.elem_type, list(v.shape)) for v in g.inputs],
        [helper.make_tensor_value_info(v.name, v.elem_type, list(v.shape)) for v in g.outputs],
        initializer=[numpy_helper.from_array(t.array, t.name) for t in g.initializers],
        doc_string=g.doc_string or None,
    )
    extra = {"producer_name": model.producer_name, "doc_string": model.doc_string}
    proto = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid(domain, version) for domain, version in model.opsets.items()],
        **{k: v for k, v in extra.items() if v},
    )
    proto.ir_version = model.ir_version
    return proto


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, "00"),
        (1, "01"),
        (127, "7f"),
        (128, "8001"),
        (150, "9601"),
        (300, "ac02"),
        ((1 << 63) - 1, "ffffffffffffffff7f"),
        ((1 << 64) - 1, "ffffffffffffffffff01"),
        (-1, "ffffffffffffffffff01"),  # int64 -1: ten bytes, two's complement
        (-(1 << 63), "80808080808080808001"),
    ],
)
def test_varint(value: int, encoded: str) -> None:
    assert varint(value).hex() == encoded


@pytest.mark.parametrize("value", [1 << 64, -(1 << 63) - 1])
def test_varint_rejects_what_does_not_fit_64_bits(value: int) -> None:
    with pytest.raises(ValueError):
        varint(value)


@given(INT64)
def test_int_attribute_matches_onnx(value: int) -> None:
    assert _attribute("axis", value).to_bytes() == helper.make_attribute("axis", value).SerializeToString()


@given(st.lists(INT64, min_size=1, max_size=8))
def test_ints_attribute_matches_onnx(values: list[int]) -> None:
    assert _attribute("pads", values).to_bytes() == helper.make_attribute("pads", values).SerializeToString()


@given(st.floats(allow_nan=False, width=32))
def test_float_attribute_matches_onnx(value: float) -> None:
    assert _attribute("alpha", value).to_bytes() == helper.make_attribute("alpha", value).SerializeToString()


@given(st.text(max_size=20))
def test_string_attribute_matches_onnx(value: str) -> None:
    assert _attribute("mode", value).to_bytes() == helper.make_attribute("mode", value).SerializeToString()


@pytest.mark.parametrize("value", [True, [], [1, 2.0], [True], None])
def test_attribute_rejects_values_it_cannot_type(value: object) -> None:
    with pytest.raises(TypeError):
        _attribute("x", value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "array",
    [
        np.array(6.0, dtype=np.float32),  # 0-d: no dims at all
        np.arange(24, dtype=np.float32).reshape(2, 3, 4),
        np.arange(24, dtype=np.float32).reshape(2, 3, 4).transpose(2, 0, 1),  # not C-contiguous
        np.zeros((0, 3), dtype=np.float32),  # empty: raw_data present but empty
        np.array([-1, 0, 1 << 40], dtype=np.int64),
        np.array([[-5, 7]], dtype=np.int32),
        np.array([0, 255], dtype=np.uint8),
        np.array([-128, 127], dtype=np.int8),
        np.array([math.pi, -0.0], dtype=np.float64),
        np.array([[1.5, -65504.0, 6.1e-5], [0.0, -0.0, 1e-7]], dtype=np.float16),  # incl. a subnormal
    ],
    ids=lambda a: f"{a.dtype}{list(a.shape)}",
)
def test_tensor_matches_onnx(array: np.ndarray) -> None:
    assert Tensor("t", array)._encode().to_bytes() == numpy_helper.from_array(array, "t").SerializeToString()


def test_data_type_numbers_are_onnxs() -> None:
    assert (FLOAT, FLOAT16) == (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16)
    for dtype, number in DATA_TYPES.items():
        assert helper.np_dtype_to_tensor_dtype(dtype) == number


def test_big_endian_tensor_is_written_little_endian() -> None:
    values = np.array([1.5, -2.25, 3.0], dtype=">f4")
    written = onnx.load_tensor_from_string(Tensor("t", values)._encode().to_bytes())
    assert written.raw_data == struct.pack("<3f", 1.5, -2.25, 3.0)
    np.testing.assert_array_equal(numpy_helper.to_array(written), values)


@pytest.mark.parametrize("dtype", [np.bool_, np.complex64, np.uint16, object])
def test_tensor_rejects_unsupported_dtypes(dtype: type) -> None:
    with pytest.raises(ValueError, match="unsupported dtype"):
        Tensor("t", np.zeros(2, dtype=dtype))


def test_value_info_matches_onnx() -> None:
    shape: list[int | str] = ["N", 3, 0, 1 << 40, "width"]
    expected = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, shape).SerializeToString()
    assert ValueInfo("x", FLOAT, shape)._encode().to_bytes() == expected


def test_node_matches_onnx() -> None:
    node = Node("Conv", ["x", "w"], ["y"], name="c", attributes={"strides": [2, 2], "group": 1, "pads": [0, 0, 1, 1]})
    # helper.make_node sorts attributes by name; so does the writer
    expected = helper.make_node("Conv", ["x", "w"], ["y"], name="c", strides=[2, 2], group=1, pads=[0, 0, 1, 1])
    assert node._encode().to_bytes() == expected.SerializeToString()
    cast = Node("Cast", ["w.fp16"], ["w"], name="w.cast", attributes={"to": FLOAT})
    expected = helper.make_node("Cast", ["w.fp16"], ["w"], name="w.cast", to=onnx.TensorProto.FLOAT)
    assert cast._encode().to_bytes() == expected.SerializeToString()
    custom = Node("Thing", [], ["z"], domain="com.example", attributes={"kind": "a"})
    expected = helper.make_node("Thing", [], ["z"], domain="com.example", kind="a")
    assert custom._encode().to_bytes() == expected.SerializeToString()


def small_model() -> Model:
    graph = Graph(
        "small",
        [
            Node("Cast", ["w.fp16"], ["w"], name="w.cast", attributes={"to": FLOAT}),
            Node("MatMul", ["x", "w"], ["xw"], name="matmul"),
            Node("Add", ["xw", "b"], ["sum"], name="add"),
            Node("Clip", ["sum", "lo", "hi"], ["y"], name="clip"),
        ],
        [
            Tensor("w.fp16", np.arange(6, dtype=np.float16).reshape(3, 2) - 2.5),
            Tensor("b", np.array([0.5, -0.5], dtype=np.float32)),
            Tensor("lo", np.array(0.0, dtype=np.float32)),
            Tensor("hi", np.array(6.0, dtype=np.float32)),
        ],
        [ValueInfo("x", FLOAT, ["N", 3])],
        [ValueInfo("y", FLOAT, ["N", 2])],
        doc_string="a test graph",
    )
    return Model(graph, {"": 17}, ir_version=8, producer_name="tests", doc_string="small")


def test_small_model_matches_onnx_and_runs() -> None:
    model = small_model()
    serialised = model.to_bytes()
    assert serialised == to_onnx(model).SerializeToString()
    onnx.checker.check_model(onnx.load_from_string(serialised), full_check=True)
    session = ort.InferenceSession(serialised, providers=["CPUExecutionProvider"])
    x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 10.0]], dtype=np.float32)
    w, b = model.graph.initializers[0].array.astype(np.float32), model.graph.initializers[1].array
    assert model.graph.initializers[0].array.dtype == np.float16
    np.testing.assert_array_equal(session.run(["y"], {"x": x})[0], np.clip(x @ w + b, 0.0, 6.0))


@pytest.fixture(scope="module")
def classifier_model(state: dict[str, np.ndarray]) -> Model:
    return classifier_graph.build_model(state)


def test_classifier_model_matches_onnx_helper(classifier_model: Model) -> None:
    """The whole 9.7 MB model (float16 and float32 initializers, Casts), written by the
    writer and by onnx.helper: same bytes."""
    assert any(t.array.dtype == np.float16 for t in classifier_model.graph.initializers)
    assert classifier_model.to_bytes() == to_onnx(classifier_model).SerializeToString()


def test_classifier_outputs_equal_those_of_the_onnx_built_model(classifier_model: Model) -> None:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    ours = ort.InferenceSession(classifier_model.to_bytes(), options, providers=["CPUExecutionProvider"])
    theirs = ort.InferenceSession(
        to_onnx(classifier_model).SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    batch = np.concatenate([prepare_image(Image.open(PHOTOS / name)) for name in ("chelsea.png", "coffee.png")])
    feed = {classifier_graph.INPUT_NAME: batch}
    out = [classifier_graph.OUTPUT_NAME]
    np.testing.assert_array_equal(ours.run(out, feed)[0], theirs.run(out, feed)[0])
