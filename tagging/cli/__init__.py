"""``tagging`` / ``python -m tagging``: the command-line client of the app's HTTP API.

Modules: ``args`` (options), ``client`` (HTTP, retries), ``upload`` (files, progress,
waiting), ``output`` (text and JSON), ``commands`` (one function per command).
"""
from __future__ import annotations

import sys

from .args import UsageError, parse
from .client import ApiClient, ApiError, ConnectionFailed, RetryPolicy
from .commands import COMMANDS, USAGE, exit_code_for

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code (0 ok, 1 some failed, 2 usage/connection)."""
    try:
        args = parse(argv)
    except SystemExit as exit_:  # argparse: --help (0) or a usage error (2)
        return int(exit_.code or 0)
    except UsageError as error:
        print(f"tagging: error: {error}", file=sys.stderr)
        return USAGE

    def on_retry(message: str, delay: float) -> None:
        print(f"tagging: {message}; waiting {delay:.1f} s", file=sys.stderr)

    retry = RetryPolicy(retries=args.retries)
    client = ApiClient(args.url, args.key, args.user, retry, args.timeout, on_retry=on_retry)
    try:
        return COMMANDS[args.command](args, client)
    except UsageError as error:
        print(f"tagging: error: {error}", file=sys.stderr)
        return USAGE
    except ConnectionFailed as error:
        print(f"tagging: error: {error}", file=sys.stderr)
        return USAGE
    except ApiError as error:
        print(f"tagging: error: {error}", file=sys.stderr)
        return exit_code_for(error)
    except KeyboardInterrupt:
        print("tagging: interrupted", file=sys.stderr)
        return 130
