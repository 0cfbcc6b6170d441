"""Model weights folders for tests, laid out as tools/weights.py lays out the real ones."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path


def weights_folder(home: Path, files: dict[str, bytes]) -> Path:
    """``home/weights/`` holding ``files`` (name -> bytes), and ``home/weights.json``
    pinning each file's sha256; returns the folder."""
    folder = home / "weights"
    folder.mkdir(parents=True)
    pins = {}
    for name, data in files.items():
        (folder / name).write_bytes(data)
        pins[name] = {"path": name, "sha256": hashlib.sha256(data).hexdigest()}
    (home / "weights.json").write_text(json.dumps({"files": pins}), encoding="utf-8")
    return folder
