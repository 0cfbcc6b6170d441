"""Command-line arguments. Global options work before or after the command."""
from __future__ import annotations

import argparse
import json
import os
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_URL = "http://127.0.0.1:7071"
MAX_METADATA_BYTES = 8 * 1024
DISTRIBUTION = "image-tagging-function-app"  # [project] name in pyproject.toml

EPILOG = """\
environment: TAGGING_URL, TAGGING_KEY and TAGGING_USER give defaults for --url, --key, --user.
exit codes: 0 ok; 1 some files rejected or failed (or not found); 2 usage or connection errors.
examples:
  tagging upload ~/Pictures/trip --metadata '{"album": "trip"}' --wait
  tagging search cat
  tagging search --text "exit only"
  tagging retag --all --outdated --wait
  tagging show 8204726335896u3o4bq-000
"""


class UsageError(Exception):
    """Bad arguments found after parsing (exit code 2)."""


def version() -> str:
    """The installed distribution's version; when it is not installed (run from a source
    checkout), the version in the checkout's pyproject.toml; else ``unknown``."""
    import importlib.metadata  # here: importing and searching it costs ~0.2 s, paid only for --version

    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        pass
    try:  # tagging/cli/args.py -> the checkout's root
        text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8")
        project = tomllib.loads(text)["project"]
    except (OSError, tomllib.TOMLDecodeError, KeyError):
        return "unknown"
    return str(project.get("version") or "unknown") if project.get("name") == DISTRIBUTION else "unknown"


class _VersionAction(argparse.Action):
    """``--version``: prints ``tagging <version>`` on stdout and exits 0, looking the
    version up only when asked (argparse's own action needs it to build the parser)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
        option_string: str | None = None,
    ) -> None:  # fmt: skip
        print(f"{parser.prog} {version()}")
        parser.exit()


def _global_options(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: a value given before the command is not reset by the subparser.
    group = parser.add_argument_group("connection and output")
    group.add_argument("--url", default=argparse.SUPPRESS,
                       help=f"the app's base URL (default: $TAGGING_URL or {DEFAULT_URL})")
    group.add_argument("--key", default=argparse.SUPPRESS,
                       help="function key, sent as x-functions-key (default: $TAGGING_KEY)")
    group.add_argument("--user", default=argparse.SUPPRESS,
                       help="caller identity, sent as X-MS-CLIENT-PRINCIPAL-ID (default: $TAGGING_USER)")
    group.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                       help="print machine-readable JSON on stdout")
    group.add_argument("--retries", type=_non_negative, default=argparse.SUPPRESS,
                       help="retries of a request after 429, 5xx or a connection error (default 5)")
    group.add_argument("--timeout", type=_positive_float, default=argparse.SUPPRESS,
                       help="seconds to wait for one response (default 60)")  # fmt: skip


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="tagging", description="Upload images to the image tagging app and query their tags.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    root.add_argument("--version", action=_VersionAction, help="print the installed version and exit")
    _global_options(root)
    commands = root.add_subparsers(dest="command", metavar="COMMAND", required=True)

    upload = commands.add_parser("upload", help="upload image files and folders (recursively)")
    upload.add_argument("paths", nargs="+", metavar="PATH", help="image files, or folders to search for images")
    upload.add_argument("--metadata", help="batch metadata: a JSON object stored with every image")
    upload.add_argument("--concurrency", type=_concurrency, default=4, help="files uploaded at once (1-32, default 4)")
    upload.add_argument("--wait", action="store_true", help="wait until every image is tagged or failed; print tags")
    upload.add_argument("--wait-timeout", type=_positive_float, default=600.0,
                        help="seconds --wait waits at most (default 600)")
    upload.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bars on stderr (default: when stderr is a terminal)")
    _global_options(upload)

    listing = commands.add_parser("list", help="list images, newest first")
    listing.add_argument("--tag", help="only images with this tag")
    listing.add_argument("--limit", type=_positive, default=50, help="how many images at most (default 50)")
    _global_options(listing)

    search = commands.add_parser("search", help="images with a tag, or with words read in them (--text)")
    search.add_argument("tag", metavar="TAG", nargs="?", help="a tag (optional with --text)")
    search.add_argument("--text", metavar="WORDS", help="words read in the image (every one must be found)")
    search.add_argument("--limit", type=_positive, default=50, help="how many images at most (default 50)")
    _global_options(search)

    show = commands.add_parser("show", help="one image: tags, facts, URL of the original")
    show.add_argument("image_id", metavar="ID")
    _global_options(show)

    retag = commands.add_parser("retag", help="tag images again with the app's current analysers")
    retag.add_argument("image_id", metavar="ID", nargs="?", help="the image to re-tag (or --all)")
    retag.add_argument("--all", action="store_true", help="every tagged or failed image of yours")
    retag.add_argument("--outdated", action="store_true",
                       help="with --all: only images tagged by an older analysis version")
    retag.add_argument("--wait", action="store_true", help="wait until every image is re-tagged or failed")
    retag.add_argument("--wait-timeout", type=_positive_float, default=600.0,
                       help="seconds --wait waits at most (default 600)")
    retag.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="a progress bar on stderr while waiting (default: when stderr is a terminal)")
    _global_options(retag)

    delete = commands.add_parser("delete", help="delete an image")
    delete.add_argument("image_id", metavar="ID")
    _global_options(delete)
    return root


def parse(argv: list[str] | None, env: dict[str, str] | None = None) -> argparse.Namespace:
    """Parsed arguments with defaults from the environment filled in."""
    env = dict(os.environ) if env is None else env
    args = parser().parse_args(argv)
    args.url = getattr(args, "url", None) or env.get("TAGGING_URL") or DEFAULT_URL
    args.key = getattr(args, "key", None) or env.get("TAGGING_KEY") or None
    args.user = getattr(args, "user", None) or env.get("TAGGING_USER") or None
    args.json = getattr(args, "json", False)
    args.retries = getattr(args, "retries", 5)
    args.timeout = getattr(args, "timeout", 60.0)
    if not args.url.startswith(("http://", "https://")):
        raise UsageError(f"--url {args.url!r} must start with http:// or https://")
    if args.command == "search" and not (args.tag or args.text):
        raise UsageError("search needs a TAG, --text WORDS, or both")
    if args.command == "retag" and bool(args.image_id) == bool(args.all or args.outdated):
        raise UsageError("retag needs an image ID or --all (--outdated implies --all), not both")
    if getattr(args, "metadata", None) is not None:
        args.metadata = check_metadata(args.metadata)
    return args


def check_metadata(text: str) -> str | None:
    """The metadata text if it is a JSON object within the app's limit."""
    if not text.strip():
        return None
    if len(text.encode("utf-8")) > MAX_METADATA_BYTES:
        raise UsageError(f"--metadata must be at most {MAX_METADATA_BYTES} bytes")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"--metadata is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise UsageError('--metadata must be a JSON object, e.g. \'{"album": "trip"}\'')
    return text


def _positive(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _non_negative(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


def _concurrency(text: str) -> int:
    value = _int(text)
    if not 1 <= value <= 32:
        raise argparse.ArgumentTypeError(f"{text!r} must be from 1 to 32")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
