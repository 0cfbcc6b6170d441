"""The "onnx-fp16" builder: an ONNX model's float32 weights stored as float16.

Each float32 initializer with at least :data:`MIN_ELEMENTS` elements whose values all
fit float16 is replaced by a float16 initializer (``<name>_fp16``) and a ``Cast`` node
to float32 that outputs the original name, so every consumer still sees float32 and
the graph's inputs and outputs are unchanged. onnxruntime folds the casts when it
creates the session: inference runs in float32, on weights rounded to float16 (half
the bytes; each weight within 2**-11 relative, or 2**-25 absolute below 2**-14).

Kept as float32: small tensors (scalars, scales, Resize ROIs: no size to gain and
often exact constants), tensors with a value beyond float16's range (+-65504) or
non-finite, and anything that is not an initializer of the main graph (Constant nodes,
subgraphs). Initializers also listed as graph inputs (overridable defaults, required
before IR version 4) leave the input list when converted, since the name is now a node
output; the IR version is raised to 4 when lower.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from onnx import GraphProto

#: Smallest float32 initializer (elements) converted.
MIN_ELEMENTS = 16
_FP16_MAX = 65504.0


def build(source: bytes) -> bytes:
    """The model in ``source`` (serialised ONNX) with its float32 weights kept as
    float16 plus a Cast; deterministic, checked by ``onnx.checker`` (full check)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load_model_from_string(source)
    graph = model.graph
    taken = _names(graph)

    def fresh(base: str) -> str:
        name, n = base, 1
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        return name

    initializers: list[TensorProto] = []
    casts: list[onnx.NodeProto] = []
    converted: set[str] = set()
    for tensor in list(graph.initializer):  # a copy: the field is rebuilt below
        if tensor.data_type != TensorProto.FLOAT or tensor.data_location == TensorProto.EXTERNAL:
            initializers.append(tensor)
            continue
        values = numpy_helper.to_array(tensor)
        if values.size < MIN_ELEMENTS or not np.all(np.isfinite(values)) or np.abs(values).max() > _FP16_MAX:
            initializers.append(tensor)
            continue
        half = numpy_helper.from_array(values.astype(np.float16), fresh(f"{tensor.name}_fp16"))
        initializers.append(half)
        cast = fresh(f"{tensor.name}_cast")
        casts.append(helper.make_node("Cast", [half.name], [tensor.name], name=cast, to=TensorProto.FLOAT))
        converted.add(tensor.name)

    del graph.initializer[:]
    graph.initializer.extend(initializers)
    inputs = [value for value in graph.input if value.name not in converted]
    del graph.input[:]
    graph.input.extend(inputs)
    nodes = [*casts, *graph.node]  # casts first: the node list stays topologically sorted
    del graph.node[:]
    graph.node.extend(nodes)
    if model.ir_version < 4:  # initializers need not be graph inputs from IR 4 on
        model.ir_version = 4
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


def _names(graph: GraphProto) -> set[str]:
    """Every value and node name of the main graph (new names must not collide)."""
    names = {value.name for value in (*graph.initializer, *graph.input, *graph.output, *graph.value_info)}
    for node in graph.node:
        names.update(node.input)
        names.update(node.output)
        names.add(node.name)
    return names
