"""Structured log events.

Each event is one line ``<event> key=value ...`` (what Application Insights shows as
the trace message, so it can be queried with ``parse``/``extract`` in KQL) and the same
fields as ``extra`` attributes, which OpenTelemetry exporters turn into
customDimensions. Callers pass ids, counts, durations and outcomes; never keys,
connection strings or SAS URLs.
"""
from __future__ import annotations

import logging
from typing import Any


def _format(value: Any) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or not text) else text


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``name`` with ``fields`` (None values are left out)."""
    present = {k: v for k, v in fields.items() if v is not None}
    message = " ".join([name, *(f"{k}={_format(v)}" for k, v in present.items())])
    logger.log(level, message, extra={"event": name, **{f"tagging_{k}": v for k, v in present.items()}})
