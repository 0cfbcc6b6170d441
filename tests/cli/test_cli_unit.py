"""The CLI's pieces without a server: arguments, file discovery, the request body,
back-off arithmetic, the console entry point, --version."""
from __future__ import annotations

import importlib
import importlib.metadata
import shutil
import subprocess
import sys
import tomllib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from tagging.bindings._multipart import parse_upload
from tagging.cli import main
from tagging.cli.args import DEFAULT_URL, DISTRIBUTION, UsageError, parse
from tagging.cli.client import ApiClient, ProgressBody, RetryPolicy, multipart_body, parse_retry_after
from tagging.cli.upload import collect

ROOT = Path(__file__).resolve().parents[2]
PHOTOS = ROOT / "tests" / "fixtures" / "photos"


def test_global_options_before_or_after_the_command_and_from_the_environment():
    env = {"TAGGING_URL": "http://env:1", "TAGGING_KEY": "k-env", "TAGGING_USER": "u-env"}
    args = parse(["list"], env)
    assert (args.url, args.key, args.user, args.json, args.retries) == ("http://env:1", "k-env", "u-env", False, 5)
    args = parse(["--url", "http://a:2", "list", "--key", "k", "--json", "--user", "bob"], env)
    assert (args.url, args.key, args.user, args.json) == ("http://a:2", "k", "bob", True)
    assert parse(["show", "x"], {}).url == DEFAULT_URL


@pytest.mark.parametrize(
    "argv",
    [
        [], ["upload"], ["frobnicate"], ["upload", "x.jpg", "--concurrency", "0"], ["list", "--limit", "ten"],
        ["--url", "ftp://x", "list"], ["upload", "x.jpg", "--metadata", "[1]"], ["upload", "x.jpg", "--metadata", "{"],
        ["upload", "definitely/not/here.jpg"], ["--retries", "-1", "list"],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    assert "error" in capsys.readouterr().err


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    assert "exit codes" in capsys.readouterr().out


def test_version_from_this_source_checkout_is_the_one_in_pyproject(capsys):
    """The test venv runs the checkout, not an installed copy (the installed
    distribution's version is checked by tests/test_install.py)."""
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"tagging {expected}\n"


@pytest.mark.parametrize(("project", "shown"), [
    ('name = "image-tagging-function-app"\nversion = "9.8.7"', "9.8.7"),
    ('name = "another-project"\nversion = "1.0"', "unknown"),  # not this project's pyproject.toml
    (None, "unknown"),  # no pyproject.toml beside the package
])  # fmt: skip
def test_version_of_a_checkout_that_is_not_installed(tmp_path, project, shown):
    """``python -m tagging --version`` in a copy of the CLI's files (nothing else of the
    worktree importable): the version in the pyproject.toml beside the package."""
    try:
        importlib.metadata.version(DISTRIBUTION)
        pytest.skip(f"{DISTRIBUTION} is installed in this environment: its version wins")
    except importlib.metadata.PackageNotFoundError:
        pass
    checkout = tmp_path / "checkout"
    for name in ("__init__.py", "__main__.py", "core/__init__.py", "core/vocabulary.py"):
        (checkout / "tagging" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "tagging" / name, checkout / "tagging" / name)
    shutil.copytree(ROOT / "tagging" / "cli", checkout / "tagging" / "cli")
    if project is not None:
        (checkout / "pyproject.toml").write_text(f"[project]\n{project}\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "tagging", "--version"], cwd=checkout, capture_output=True,
                          text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (0, f"tagging {shown}\n", "")


def test_metadata_must_be_a_small_json_object():
    assert parse(["upload", "a", "--metadata", '{"album": "x"}'], {}).metadata == '{"album": "x"}'
    assert parse(["upload", "a", "--metadata", "  "], {}).metadata is None
    with pytest.raises(UsageError, match="at most 8192 bytes"):
        parse(["upload", "a", "--metadata", '{"a": "' + "x" * 9000 + '"}'], {})


def test_collect_walks_folders_for_images_and_keeps_named_files(tmp_path):
    (tmp_path / "trip" / "day1").mkdir(parents=True)
    (tmp_path / "trip" / ".thumbs").mkdir()
    names = ("trip/b.JPG", "trip/day1/a.png", "trip/notes.txt", "trip/.hidden.jpg", "trip/.thumbs/t.jpg", "raw.bin")
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    found = collect([str(tmp_path / "trip"), str(tmp_path / "raw.bin"), str(tmp_path / "trip" / "b.JPG")])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["trip/b.JPG", "trip/day1/a.png", "raw.bin"]
    with pytest.raises(UsageError, match="no such file"):
        collect([str(tmp_path / "missing")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="no image files"):
        collect([str(tmp_path / "empty")])


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("chelsea.png", "chelsea.png"),
        ("café au lait.png", "café au lait.png"),
        ('say "cheese".png', 'say "cheese".png'),  # sent as %22, as browsers do; the parser decodes it
        ("line\nbreak.png", "line%0Abreak.png"),
    ],
)
def test_the_multipart_body_is_what_the_app_parses(filename, expected):
    data = (PHOTOS / "chelsea.png").read_bytes()
    body, content_type, offset = multipart_body(filename, data, "image/png", '{"album": "ünï"}')
    assert body[offset : offset + len(data)] == data
    parsed = parse_upload(body, content_type, None, max_files=10)
    [incoming] = parsed.files
    assert incoming.data == data and parsed.metadata == '{"album": "ünï"}'
    assert incoming.filename == expected


def test_progress_body_reports_every_byte_once_and_has_a_length():
    seen: list[int] = []
    body = ProgressBody(b"x" * 200_000, seen.append)
    assert len(body) == 200_000
    assert b"".join(body) == b"x" * 200_000
    assert sum(seen) == 200_000 and max(seen) <= 64 * 1024


def test_upload_progress_counts_only_the_file_bytes_and_restarts_on_retry():
    client = ApiClient("http://unused")
    counted: list[int] = []
    restarts: list[bool] = []
    bodies = []

    def fake_call(method, path, body, headers):
        for _ in range(2):  # two attempts
            made = body()
            bodies.append(b"".join(made))
        return {"batch_id": "b", "images": [], "rejected": []}

    client.call = fake_call  # type: ignore[method-assign]
    data = b"\x89PNG" + b"y" * 150_000
    client.upload("a.png", data, "image/png", None, counted.append, lambda: restarts.append(True))
    assert sum(counted) == 2 * len(data) and restarts == [True]
    assert bodies[0] == bodies[1]


def test_retry_policy_back_off_and_retry_after():
    policy = RetryPolicy(base=0.5, cap=4, jitter=lambda: 1.0)
    assert [policy.delay(n, None) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert policy.delay(0, "7") == 7.0
    assert RetryPolicy(max_retry_after=10).delay(0, "3600") == 10
    now = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now) == 0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_base_url_with_or_without_api():
    assert ApiClient("http://h:7071").url("images") == "http://h:7071/api/images"
    assert ApiClient("https://app.azurewebsites.net/api/").url("tags") == "https://app.azurewebsites.net/api/tags"


def test_console_entry_point_is_declared_and_importable():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, name = scripts["tagging"].partition(":")
    assert getattr(importlib.import_module(module), name) is main
