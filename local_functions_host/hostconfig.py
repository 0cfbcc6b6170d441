"""``host.json``: the parts the runner honours, with the host's defaults.

Settings named ``AzureFunctionsJobHost__<path>`` (e.g.
``AzureFunctionsJobHost__extensions__queues__maxDequeueCount=2``) override
``host.json`` values, as they do in the real host: tests use this to run the
real app with faster queue settings.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OVERRIDE_PREFIX = "AzureFunctionsJobHost__"
DEFAULT_ROUTE_PREFIX = "api"
MIN_POLLING_INTERVAL = 0.1  # seconds; the host's floor and the first back-off step
LOCAL_MAX_POLLING_INTERVAL = 2.0  # seconds; the default when running locally
MAX_BATCH_SIZE = 32
ENCODINGS = ("base64", "none")
MIN_LEASE_SECONDS, MAX_LEASE_SECONDS = 15.0, 60.0  # what Blob Storage grants (and the host accepts)
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$")


class HostConfigError(ValueError):
    """host.json holds a value the runner (and the host) would refuse."""


@dataclass(frozen=True)
class QueueOptions:
    """``extensions.queues``. Durations in seconds."""

    batch_size: int = 16
    new_batch_threshold: int = 8
    max_polling_interval: float = LOCAL_MAX_POLLING_INTERVAL
    visibility_timeout: float = 0.0
    max_dequeue_count: int = 5
    message_encoding: str = "base64"


@dataclass(frozen=True)
class SingletonOptions:
    """``singleton``: the blob lease that keeps a timer to one instance (the host's
    ``SingletonOptions``, listener lock). Seconds."""

    listener_lock_period: float = MAX_LEASE_SECONDS
    listener_lock_recovery_polling_interval: float = 60.0


@dataclass(frozen=True)
class HostConfig:
    route_prefix: str = DEFAULT_ROUTE_PREFIX
    queues: QueueOptions = QueueOptions()
    singleton: SingletonOptions = SingletonOptions()
    function_timeout: float | None = None  # seconds; reported, not enforced
    log_levels: dict[str, str] = field(default_factory=dict)  # logging.logLevel


def parse_timespan(value: Any, name: str = "value") -> float:
    """Seconds in a .NET TimeSpan string (``[d.]hh:mm:ss[.fffffff]``) or a number of seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    match = _TIMESPAN.match(str(value).strip())
    if not match:
        raise HostConfigError(f"{name}={value!r} is not a time span; write it as hh:mm:ss, e.g. 00:00:02")
    days, hours, minutes, seconds, fraction = match.groups()
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds)
    return total + (float(f"0.{fraction}") if fraction else 0.0)


def load_host_config(app_dir: Path, env: Mapping[str, str] | None = None) -> HostConfig:
    """Read ``<app_dir>/host.json`` (missing: all defaults) and apply overrides."""
    env = os.environ if env is None else env
    path = app_dir / "host.json"
    document: dict[str, Any] = {}
    if path.is_file():
        try:
            document = json.loads(path.read_text(encoding="utf-8-sig"))
        except json.JSONDecodeError as error:
            raise HostConfigError(f"host.json is not valid JSON: {error}") from None
        if not isinstance(document, dict):
            raise HostConfigError("host.json must hold a JSON object")
        if str(_get(document, "version") or "") != "2.0":
            raise HostConfigError('host.json needs "version": "2.0" (the only version the v4 host reads)')
    apply_overrides(document, env)
    return parse_host_config(document)


def apply_overrides(document: dict[str, Any], env: Mapping[str, str]) -> None:
    """Write ``AzureFunctionsJobHost__a__b=v`` settings into ``document`` at ``a.b``."""
    for name, value in env.items():
        if not name.lower().startswith(OVERRIDE_PREFIX.lower()):
            continue
        path = [part for part in name[len(OVERRIDE_PREFIX):].split("__") if part]
        node = document
        for part in path[:-1]:
            key = _key(node, part)
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        if path:
            node[_key(node, path[-1])] = value


def parse_host_config(document: Mapping[str, Any]) -> HostConfig:
    extensions = _get(document, "extensions") or {}
    http = _get(extensions, "http") or {}
    prefix = _get(http, "routePrefix")
    route_prefix = DEFAULT_ROUTE_PREFIX if prefix is None else str(prefix).strip("/")
    timeout = _get(document, "functionTimeout")
    logging_section = _get(document, "logging") or {}
    levels = _get(logging_section, "logLevel") or {}
    return HostConfig(
        route_prefix=route_prefix,
        queues=parse_queue_options(_get(extensions, "queues") or {}),
        singleton=parse_singleton_options(_get(document, "singleton") or {}),
        function_timeout=None if timeout in (None, "", "-1") else parse_timespan(timeout, "functionTimeout"),
        log_levels={str(k): str(v) for k, v in levels.items()} if isinstance(levels, dict) else {},
    )


def parse_queue_options(section: Mapping[str, Any], cpus: int | None = None) -> QueueOptions:
    """``extensions.queues`` with the host's defaults and limits."""
    batch_size = _int(section, "batchSize", 16, 1, MAX_BATCH_SIZE)
    default_threshold = (batch_size // 2) * (cpus or os.cpu_count() or 1)
    encoding = str(_get(section, "messageEncoding") or "base64").strip().lower()
    if encoding not in ENCODINGS:
        raise HostConfigError(f"extensions.queues.messageEncoding={encoding!r}: use base64 or none")
    polling = _get(section, "maxPollingInterval")
    max_polling = LOCAL_MAX_POLLING_INTERVAL if polling is None else parse_timespan(polling, "maxPollingInterval")
    if max_polling < MIN_POLLING_INTERVAL:
        raise HostConfigError("extensions.queues.maxPollingInterval must be at least 00:00:00.100")
    visibility = _get(section, "visibilityTimeout")
    return QueueOptions(
        batch_size=batch_size,
        new_batch_threshold=_int(section, "newBatchThreshold", default_threshold, 0, 10_000),
        max_polling_interval=max_polling,
        visibility_timeout=0.0 if visibility is None else parse_timespan(visibility, "visibilityTimeout"),
        max_dequeue_count=_int(section, "maxDequeueCount", 5, 1, 10_000),
        message_encoding=encoding,
    )


def parse_singleton_options(section: Mapping[str, Any]) -> SingletonOptions:
    """``singleton`` with the host's defaults and limits: a listener lock of 15-60 s
    (default 60), polled for every ``listenerLockRecoveryPollingInterval`` (default 1 min,
    at least 15 s) by the instances without it. The other keys (``lockPeriod``, the
    acquisition ones) are for ``[Singleton]`` functions, which Python apps cannot declare."""
    period = _get(section, "listenerLockPeriod")
    lock = MAX_LEASE_SECONDS if period is None else parse_timespan(period, "singleton.listenerLockPeriod")
    if not MIN_LEASE_SECONDS <= lock <= MAX_LEASE_SECONDS:
        raise HostConfigError("singleton.listenerLockPeriod must be from 00:00:15 to 00:01:00 (a blob lease)")
    polling = _get(section, "listenerLockRecoveryPollingInterval")
    recovery = 60.0 if polling is None else parse_timespan(polling, "singleton.listenerLockRecoveryPollingInterval")
    if recovery < MIN_LEASE_SECONDS:
        raise HostConfigError("singleton.listenerLockRecoveryPollingInterval must be at least 00:00:15")
    return SingletonOptions(listener_lock_period=lock, listener_lock_recovery_polling_interval=recovery)


def _int(section: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    raw = _get(section, name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise HostConfigError(f"extensions.queues.{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise HostConfigError(f"extensions.queues.{name}={value} must be from {low} to {high}")
    return value


def _key(node: Mapping[str, Any], name: str) -> str:
    """The existing key matching ``name`` case-insensitively, else ``name``."""
    return next((key for key in node if key.lower() == name.lower()), name)


def _get(node: Any, name: str) -> Any:
    if not isinstance(node, Mapping):
        return None
    key = _key(node, name)
    return node.get(key)
