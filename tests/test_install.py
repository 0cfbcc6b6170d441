"""``pip install .[cli]``: the distribution's declared dependencies are enough.

pyproject.toml declares the app's runtime dependencies (the pins of requirements.txt,
from which the deployment is built) and two extras: ``cli`` (the ``tagging`` command)
and ``local-host`` (``python -m local_functions_host``). The install test builds a
fresh venv and installs from a local wheelhouse (``.artifacts/wheelhouse``, downloaded
once from the index), so it runs offline after the first time and only what the
project declares ends up in the venv.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest

from tests.support.app_server import start_app

ROOT = Path(__file__).resolve().parents[1]
WHEELHOUSE = ROOT / ".artifacts" / "wheelhouse"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _pins(path: Path) -> dict[str, str]:
    """name -> version of the ``name==version`` lines of a requirements file."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line.split("#", 1)[0].strip())
        if match:
            pins[match[1].lower()] = match[2]
    return pins


def _as_pins(requirements: list[str]) -> dict[str, str]:
    pins = {}
    for requirement in requirements:
        match = PIN.match(requirement)
        assert match, f"{requirement!r} is not pinned with =="
        pins[match[1].lower()] = match[2]
    return pins


def test_declared_dependencies_are_requirements_txt_and_the_extras_pin_the_dev_versions():
    project = _project()["project"]
    assert _as_pins(project["dependencies"]) == _pins(ROOT / "requirements.txt")
    dev = _pins(ROOT / "requirements-dev.txt")
    extras = project["optional-dependencies"]
    assert set(extras) == {"cli", "local-host"}
    assert set(_as_pins(extras["cli"])) == {"requests", "tqdm"}
    assert {"aiohttp", "croniter"} <= set(_as_pins(extras["local-host"]))
    for name, requirements in extras.items():
        for package, version in _as_pins(requirements).items():
            assert dev.get(package) == version, (
                f"extra {name}: {package}=={version}, requirements-dev.txt has {dev.get(package)}"
            )


def _wheelhouse(requirements: list[str]) -> Path:
    """Wheels for ``requirements`` (and what they need), downloaded once per set."""
    stamp = WHEELHOUSE / ".requirements"
    wanted = "\n".join(sorted(requirements))
    if stamp.is_file() and stamp.read_text() == wanted:
        return WHEELHOUSE
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--only-binary=:all:",
         "-d", str(WHEELHOUSE), *requirements],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.fail(f"could not download the wheels the install test needs (network?):\n{done.stderr[-3000:]}")
    stamp.write_text(wanted)
    return WHEELHOUSE


def _source_copy(target: Path) -> Path:
    """The files a source install reads, as git sees them (tracked, and untracked unless
    ignored, so a new module counts before it is committed); building in the worktree
    would leave build/ there."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z", "pyproject.toml", "tagging", "local_functions_host"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode()  # fmt: skip
    for name in filter(None, listed.split("\0")):
        if not (ROOT / name).is_file():  # deleted but not yet committed
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, target / name)
    return target


def test_pip_install_with_the_cli_extra_gives_a_working_tagging_command(tmp_path, azurite):
    project = _project()
    build = project["build-system"]["requires"]
    extras = project["project"]["optional-dependencies"]
    wheels = _wheelhouse([*build, *project["project"]["dependencies"], *extras["cli"], *extras["local-host"]])
    source = _source_copy(tmp_path / "source")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON", "TAGGING_", "VIRTUAL_ENV"))}
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile", "--no-index",
         "--isolated", "--find-links", str(wheels), f"{source}[cli,local-host]"],
        env=clean, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-3000:]

    def run(*command: str) -> subprocess.CompletedProcess:
        # From an empty folder: nothing of the worktree is importable, only the venv.
        return subprocess.run(command, cwd=tmp_path, env=clean, capture_output=True, text=True, timeout=120,
                              check=False)  # fmt: skip

    helped = run(str(env_dir / "bin" / "tagging"), "--help")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("usage: tagging") and "upload" in helped.stdout
    versioned = run(str(env_dir / "bin" / "tagging"), "--version")  # the installed distribution's metadata
    assert (versioned.returncode, versioned.stdout) == (0, f"tagging {project['project']['version']}\n"), versioned
    where = run(str(python), "-c", "import tagging, tqdm, requests; print(tagging.__file__)")
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(env_dir)

    app = start_app(azurite.connection_string, "install", default_user="")
    try:
        listed = run(str(env_dir / "bin" / "tagging"), "--url", app.base, "--user", "install-test", "--json", "list")
    finally:
        app.ensure_stopped()
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip()  # the app's (empty) list, as JSON

    host = run(str(python), "-m", "local_functions_host", "--help")
    assert host.returncode == 0, host.stderr
    assert host.stdout.startswith("usage: python -m local_functions_host")
