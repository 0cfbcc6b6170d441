"""Deployment package weight, built as the deployment tooling builds it.

Flex Consumption installs ``requirements.txt`` remotely for Linux x86-64 and
Python 3.11 (the same as ``pip install --target`` with those platform flags), next to
the app files ``.funcignore`` keeps (what ``azd deploy`` / ``func azure functionapp
publish`` zip; tests/test_deploy_package.py builds the same app zip). Here both go
into one zip in a temporary folder, packages under ``.python_packages/lib/site-packages``
as Core Tools' ``--build local`` lays them out, and its size is measured.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# manylinux2014 as asked, plus manylinux_2_28 (glibc 2.28; the Flex image has newer): pillow 13
# ships only manylinux_2_27/2_28 wheels for x86-64.
PLATFORM = (
    "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_28_x86_64",
    "--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
)  # fmt: skip
SITE = ".python_packages/lib/site-packages"
MB = 1024 * 1024


def app_files() -> list[str]:
    import pathspec

    spec = pathspec.GitIgnoreSpec.from_lines((ROOT / ".funcignore").read_text(encoding="utf-8").splitlines())
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode("utf-8")  # fmt: skip
    from tools.weights import built_files  # git-ignored weights the build copies into the package

    names = {n for n in listed.split("\0") if n and (ROOT / n).is_file()} | set(built_files())
    return sorted(n for n in names if not spec.match_file(n))


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def measure(requirements: Path = ROOT / "requirements.txt") -> dict:
    """Zipped and installed size of the package, and the largest installed distributions."""
    with tempfile.TemporaryDirectory(prefix="tagging-package-") as scratch:
        site = Path(scratch) / "site"
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
             "--target", str(site), *PLATFORM, "-r", str(requirements)],
            check=True,
        )  # fmt: skip
        target = Path(scratch) / "package.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in app_files():
                archive.write(ROOT / name, name)
            for path in sorted(site.rglob("*")):
                if path.is_file():
                    archive.write(path, f"{SITE}/{path.relative_to(site).as_posix()}")
        tops = {}
        for entry in site.iterdir():
            if entry.name.endswith((".dist-info", "__pycache__")) or entry.name == "bin":
                continue
            tops[entry.name] = _size(entry) if entry.is_dir() else entry.stat().st_size
        largest = dict(sorted(((k, round(v / MB, 1)) for k, v in tops.items()), key=lambda kv: -kv[1])[:8])
        return {
            "zipped_mb": round(target.stat().st_size / MB, 1),
            "installed_mb": round(_size(site) / MB, 1),
            "scipy_present": (site / "scipy").exists(),
            "largest_installed_mb": largest,
        }


if __name__ == "__main__":
    import json

    print(json.dumps(measure(), indent=2))
