"""Structured log events.

Each event is one line ``<event> key=value ...`` (what Application Insights shows as
the trace message, so it can be queried with ``parse``/``extract`` in KQL) and the same
fields as ``extra`` attributes, which OpenTelemetry exporters turn into
customDimensions. Callers pass ids, counts, durations and outcomes; never keys,
connection strings or SAS URLs.

:func:`quiet_sdk_loggers` keeps the Azure SDK's loggers at WARNING: the Python worker
sets the root logger to INFO and forwards every record to the host and Application
Insights, and host.json's ``Azure.Core`` level does not apply to Python loggers, so
azure-core's HTTP logging policy would send every request and response (multi-line,
at INFO). ``TAGGING_SDK_LOG_LEVEL`` (default WARNING) overrides the level.
"""
from __future__ import annotations

import logging
import os
from typing import Any

SDK_LOG_LEVEL_SETTING = "TAGGING_SDK_LOG_LEVEL"
DEFAULT_SDK_LOG_LEVEL = logging.WARNING
# The Azure SDK (azure-core's HTTP logging policy logs each request and response at
# INFO; azure-identity logs each token at INFO), MSAL under azure-identity, urllib3.
SDK_LOGGERS = (
    "azure",
    "azure.core.pipeline.policies.http_logging_policy",
    "azure.identity",
    "azure.monitor",
    "msal",
    "urllib3",
)


def _format(value: Any) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or not text) else text


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``name`` with ``fields`` (None values are left out)."""
    present = {k: v for k, v in fields.items() if v is not None}
    message = " ".join([name, *(f"{k}={_format(v)}" for k, v in present.items())])
    logger.log(level, message, extra={"event": name, **{f"tagging_{k}": v for k, v in present.items()}})


def sdk_log_level(env: Any = None) -> int:
    """The level for the SDK loggers: ``TAGGING_SDK_LOG_LEVEL`` (a name such as WARNING,
    INFO, DEBUG, ERROR, or a number), WARNING when unset or not understood."""
    raw = (os.environ if env is None else env).get(SDK_LOG_LEVEL_SETTING, "").strip()
    if not raw:
        return DEFAULT_SDK_LOG_LEVEL
    if raw.isdigit():
        return int(raw)
    level = logging.getLevelName(raw.upper())
    return level if isinstance(level, int) else DEFAULT_SDK_LOG_LEVEL


def quiet_sdk_loggers(env: Any = None) -> int:
    """Set the SDK loggers (:data:`SDK_LOGGERS`) to :func:`sdk_log_level`; returns it.
    Called once when the app is imported (function_app.py)."""
    level = sdk_log_level(env)
    for name in SDK_LOGGERS:
        logging.getLogger(name).setLevel(level)
    return level
