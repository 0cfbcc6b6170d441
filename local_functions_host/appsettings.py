"""App settings as Core Tools reads them: ``local.settings.json`` and ``%NAME%``.

Only ``local.settings.json`` (or an explicit ``--settings-file``) is read, never the
``.example`` beside it: the host resolves settings from the app settings in effect
only. ``Values`` become environment variables, but a variable already set in the
environment wins (as with ``func start``). Binding properties may hold ``%NAME%``
expressions anywhere in a string (``%TAGGING_QUEUE%-poison``); they resolve from the
environment, and an unknown name is an indexing error of that function, as in the host.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SETTINGS_FILE = "local.settings.json"
EXAMPLE_FILE = "local.settings.json.example"
_EXPRESSION = re.compile(r"%([A-Za-z0-9_.:\-]+)%")


class SettingsFileError(ValueError):
    """``local.settings.json`` cannot be used; the message says why."""


class UnresolvedSetting(ValueError):
    """A ``%NAME%`` expression names a setting that is not set."""


@dataclass
class LocalSettings:
    """The parts of ``local.settings.json`` the runner uses."""

    path: Path | None
    values: dict[str, str] = field(default_factory=dict)
    host: dict[str, Any] = field(default_factory=dict)  # the "Host" section (LocalHttpPort, ...)

    @property
    def local_http_port(self) -> int | None:
        port = _get_ci(self.host, "LocalHttpPort")
        return int(port) if port not in (None, "") else None


def find_settings_file(app_dir: Path, explicit: str | os.PathLike | None = None) -> Path | None:
    """``explicit`` when given, else ``<app_dir>/local.settings.json``, else None.
    The ``.example`` is never read: settings missing from the file stay unset, so a
    binding that names one is reported in error, as the host does."""
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise SettingsFileError(f"settings file {path} does not exist")
        return path
    candidate = app_dir / SETTINGS_FILE
    return candidate if candidate.is_file() else None


def load_local_settings(path: Path | None) -> LocalSettings:
    """Parse a settings file (None: no file, no values)."""
    if path is None:
        return LocalSettings(None)
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, json.JSONDecodeError) as error:
        raise SettingsFileError(f"{path.name} is not readable JSON: {error}") from None
    if not isinstance(document, dict):
        raise SettingsFileError(f"{path.name} must hold a JSON object")
    if _get_ci(document, "IsEncrypted") in (True, "true", "True"):
        raise SettingsFileError(
            f"{path.name} is encrypted (IsEncrypted: true); the runner reads plain values only - "
            "decrypt it with `func settings decrypt` or keep a plain copy"
        )
    raw_values = _get_ci(document, "Values") or {}
    if not isinstance(raw_values, dict):
        raise SettingsFileError(f"{path.name}: Values must be an object of strings")
    values = {str(k): _as_text(v) for k, v in raw_values.items() if v is not None}
    host = _get_ci(document, "Host") or {}
    return LocalSettings(path, values, host if isinstance(host, dict) else {})


def apply_values(values: Mapping[str, str], env: MutableMapping[str, str] | None = None) -> list[str]:
    """Copy ``values`` into ``env`` (default ``os.environ``) where not already set.
    Returns the names that were set (never log the values: they hold secrets)."""
    env = os.environ if env is None else env
    applied = []
    for name, value in values.items():
        if name not in env:
            env[name] = value
            applied.append(name)
    return applied


def resolve(text: str, env: Mapping[str, str] | None = None) -> str:
    """``text`` with every ``%NAME%`` replaced by that setting's value."""
    env = os.environ if env is None else env

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        value = env.get(name)
        if value is None:
            raise UnresolvedSetting(
                f"'%{name}%' does not resolve to a value: set {name} in local.settings.json or the environment"
            )
        return value

    return _EXPRESSION.sub(substitute, text)


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _get_ci(mapping: Mapping[str, Any], key: str) -> Any:
    """``mapping[key]`` compared case-insensitively (.NET configuration keys are)."""
    for name, value in mapping.items():
        if name.lower() == key.lower():
            return value
    return None
