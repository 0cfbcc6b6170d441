"""The deployed app under the Functions worker's own packages (issue 10, item 1).

On a Linux Consumption start the Python worker's packages come first on ``sys.path``,
among them protobuf 4.25. Anything the app imports that needs a newer protobuf (onnx
1.23 needs >= 6.31) then fails inside the function. The app must therefore import
neither ``onnx`` nor ``google.protobuf`` at run time: every model is an ONNX file that
onnxruntime reads without them (the classifier's is built at build time by
:mod:`tools.model_builds.efficientnet_lite0`, which writes the protobuf bytes itself).

The end-to-end test runs the app in a subprocess with ``.artifacts/worker-site``
(protobuf 4.25.x, built by ``make test`` from tests/requirements/worker-site.txt)
first on ``sys.path``; the static test scans the package for such imports.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKER_SITE = ROOT / ".artifacts" / "worker-site"
PHOTO = ROOT / "tests" / "fixtures" / "photos" / "chelsea.png"
FORBIDDEN = ("onnx", "google.protobuf")

# Runs in the child. The worker-site goes first, then the app root, then the venv's
# site-packages (already on sys.path), which is the order of a Linux Consumption start.
CHILD = r"""
import json, sys
worker_site, root, photo = sys.argv[1:4]
sys.path[:0] = [worker_site, root]

import google.protobuf
protobuf = google.protobuf.__version__
protobuf_file = google.protobuf.__file__
# Only the probe above imported protobuf: forget it, so that whatever the app imports
# later shows up in sys.modules again.
for name in [n for n in sys.modules if n == "google" or n.startswith("google.")]:
    del sys.modules[name]

import function_app  # noqa: F401  the worker indexes the app first
from tagging.core.analysis import analyse

with open(photo, "rb") as f:
    analysis = analyse(f.read(), max_pixels=50_000_000)
print(json.dumps({
    "protobuf": protobuf,
    "protobuf_file": protobuf_file,
    "tags": [[t.name, t.source, t.confidence] for t in analysis.tags],
    "labels": analysis.facts.get("labels"),
    "imported": sorted(n for n in sys.modules if n.split(".")[0] == "onnx" or n.startswith("google.protobuf")),
}))
"""


def test_the_app_tags_a_photo_with_the_workers_protobuf_first_on_sys_path() -> None:
    if not (WORKER_SITE / ".installed").exists():
        pytest.fail(
            f"{WORKER_SITE} is missing: `make test` builds it "
            "(pip install --no-deps --target .artifacts/worker-site -r tests/requirements/worker-site.txt)"
        )
    # -I: no PYTHONPATH, no user site, no cwd; the child builds its own sys.path prefix.
    done = subprocess.run(
        [sys.executable, "-I", "-c", CHILD, str(WORKER_SITE), str(ROOT), str(PHOTO)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # Guards the set-up: the child really saw the worker's protobuf, not the venv's.
    assert result["protobuf"].startswith("4."), result
    assert Path(result["protobuf_file"]).is_relative_to(WORKER_SITE), result
    assert result["imported"] == [], f"the app imported {result['imported']}"
    tags = {name: (source, confidence) for name, source, confidence in result["tags"]}
    assert tags["cat"][0] == "classifier" and tags["cat"][1] > 0.5, result["tags"]


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            # ``from google import protobuf``
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def _forbidden(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in FORBIDDEN)


def test_no_app_module_imports_onnx_or_protobuf() -> None:
    """Static guard, stricter than the run above: no import of them anywhere in the
    deployed code, not even lazily inside a function or under ``TYPE_CHECKING``."""
    sources = [ROOT / "function_app.py", *sorted((ROOT / "tagging").rglob("*.py"))]
    offences = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in sources
        for line, module in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        if _forbidden(module)
    ]
    assert not offences, "the deployed app must not import onnx or google.protobuf:\n" + "\n".join(offences)
    assert len(sources) > 20  # the scan saw the package
