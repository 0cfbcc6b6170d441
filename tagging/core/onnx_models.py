"""What every bundled model shares: reading its file against a pinned sha256, and the
onnxruntime session options the app runs all of them with (one intra-op thread per
session; the app scales with workers, not threads). onnxruntime is imported on the
first session, never when this module loads."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any


class ModelFileError(RuntimeError):
    """A bundled model file is missing or its sha256 does not match the pinned one."""


def read_checked(path: Path, expected_sha256: str) -> bytes:
    """The bytes of ``path``; raises ModelFileError when it is absent or its sha256 differs."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelFileError(f"cannot read model file {path}: {error}") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha256:
        raise ModelFileError(f"{path.name}: sha256 {actual} does not match the pinned {expected_sha256}")
    return data


def cpu_session(model: bytes | str) -> Any:
    """An onnxruntime CPU session of ``model`` (serialised bytes, or a file path):
    one intra-op and one inter-op thread, sequential, full graph optimisation, warnings
    and errors only in the log."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])
