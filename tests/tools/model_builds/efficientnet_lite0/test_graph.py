"""The classifier's ONNX graph (built at build time): structure, checker, and agreement
of its float32 form with an independent PyTorch run (tests/fixtures/classifier_reference.json,
written by tools/make_classifier_reference.py).

The builder serialises the graph itself (tools/model_builds/efficientnet_lite0/onnx_proto.py);
these tests parse its bytes with the onnx package."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from PIL import Image

from tagging.core.classify import model as runtime
from tagging.core.classify import prepare_image
from tagging.core.classify.model import softmax
from tagging.core.onnx_models import cpu_session
from tools.model_builds.efficientnet_lite0.graph import (
    INPUT_NAME,
    INPUT_SIZE,
    NUM_CLASSES,
    OPSET,
    OUTPUT_NAME,
    block_specs,
    build_model,
    fold_batchnorm,
    same_pads,
)

from .conftest import MODEL_FILE

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
REFERENCE = json.loads((FIXTURES / "classifier_reference.json").read_text())


@pytest.fixture(scope="module")
def serialised(state: dict[str, np.ndarray]) -> bytes:
    return build_model(state).to_bytes()


@pytest.fixture(scope="module")
def float32_session(state: dict[str, np.ndarray]) -> Any:
    return cpu_session(build_model(state, fp16=False).to_bytes())


@pytest.fixture(scope="module")
def model(serialised: bytes) -> onnx.ModelProto:
    return onnx.load_from_string(serialised)


def test_the_runtime_reads_the_graph_by_the_same_contract() -> None:
    assert (runtime.INPUT_NAME, runtime.OUTPUT_NAME) == (INPUT_NAME, OUTPUT_NAME)
    assert (runtime.INPUT_SIZE, runtime.NUM_CLASSES) == (INPUT_SIZE, NUM_CLASSES)


def test_graph_passes_the_onnx_checker(model: onnx.ModelProto) -> None:
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    (out,) = inferred.graph.output
    assert out.name == OUTPUT_NAME
    assert [d.dim_value or d.dim_param for d in out.type.tensor_type.shape.dim] == ["N", 1000]
    (inp,) = model.graph.input
    assert inp.name == INPUT_NAME
    assert [d.dim_value or d.dim_param for d in inp.type.tensor_type.shape.dim] == ["N", 3, 224, 224]
    assert [(o.domain, o.version) for o in model.opset_import] == [("", OPSET)]


def test_serialisation_is_canonical(model: onnx.ModelProto, serialised: bytes) -> None:
    """protobuf re-serialises the parsed model to the very same bytes: no field was
    dropped, reordered or encoded differently from what onnx itself would write."""
    assert model.SerializeToString() == serialised


def test_graph_structure(model: onnx.ModelProto) -> None:
    ops = [node.op_type for node in model.graph.node if node.op_type != "Cast"]  # Casts: see test_build.py
    assert "BatchNormalization" not in ops  # folded
    assert ops.count("Conv") == 1 + 15 * 3 + 2 + 1  # stem, 15 expanded blocks, block 0, head
    assert ops.count("Add") == 9  # residual blocks
    assert ops.count("Clip") == 1 + 15 * 2 + 1 + 1
    assert ops[-3:] == ["GlobalAveragePool", "Flatten", "Gemm"]
    for node in model.graph.node:
        if node.op_type == "Clip":
            bounds = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer if i.name in node.input}
            assert len(bounds) == 2
            assert sorted(float(v) for v in bounds.values()) == [0.0, 6.0]


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "expected"),
    [
        (224, 3, 2, (0, 1, 112)),  # TF puts the odd pixel after
        (112, 3, 1, (1, 1, 112)),
        (112, 3, 2, (0, 1, 56)),
        (56, 5, 2, (1, 2, 28)),
        (14, 5, 1, (2, 2, 14)),
        (7, 1, 1, (0, 0, 7)),
    ],
)
def test_same_padding(size: int, kernel: int, stride: int, expected: tuple[int, int, int]) -> None:
    assert same_pads(size, kernel, stride) == expected


def test_block_layout(state: dict[str, np.ndarray]) -> None:
    specs = block_specs(state)
    assert [s.stride for s in specs] == [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1]
    assert [s.kernel for s in specs] == [3, 3, 3, 5, 5, 3, 3, 3, 5, 5, 5, 5, 5, 5, 5, 3]
    assert [s.index for s in specs if s.residual] == [2, 4, 6, 7, 9, 10, 12, 13, 14]
    assert not specs[0].has_expand and all(s.has_expand for s in specs[1:])


def test_batchnorm_folding_is_exact_enough(state: dict[str, np.ndarray]) -> None:
    rng = np.random.default_rng(0)
    weight = state["_blocks.1._expand_conv.weight"][:, :, 0, 0]  # 1x1 conv: a matrix
    x = rng.normal(size=(weight.shape[1], 64)).astype(np.float64)
    bn = {
        k: state[f"_blocks.1._bn0.{k}"].astype(np.float64)[:, None]
        for k in ("weight", "bias", "running_mean", "running_var")
    }
    expected = (weight @ x - bn["running_mean"]) / np.sqrt(bn["running_var"] + 1e-3) * bn["weight"] + bn["bias"]
    folded_w, folded_b = fold_batchnorm(state["_blocks.1._expand_conv.weight"], state, "_blocks.1._bn0")
    got = folded_w[:, :, 0, 0].astype(np.float64) @ x + folded_b[:, None]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_reference_was_made_from_the_pinned_weights(manifest: dict[str, Any]) -> None:
    assert REFERENCE["weights_sha256"] == manifest["files"][MODEL_FILE]["sha256"]
    assert len(REFERENCE["photos"]) >= 7


@pytest.mark.parametrize("photo", sorted(REFERENCE["photos"]))
def test_the_float32_graph_matches_the_pytorch_reference(photo: str, float32_session: Any) -> None:
    """The graph itself, before any float16 rounding (the shipped model is compared
    with this one in test_build.py)."""
    expected = REFERENCE["photos"][photo]
    x = prepare_image(Image.open(FIXTURES / "photos" / photo))
    logits = float32_session.run([OUTPUT_NAME], {INPUT_NAME: x})[0][0]
    probabilities = softmax(logits)

    top5 = [int(i) for i in np.argsort(-probabilities)[:5]]
    assert top5[0] == expected["top5"][0]["index"]
    for entry in expected["top5"]:
        assert probabilities[entry["index"]] == pytest.approx(entry["probability"], abs=1e-3)
    for entry in expected["logits_float64_top5"]:
        assert float(logits[entry["index"]]) == pytest.approx(entry["logit"], abs=1e-3)
