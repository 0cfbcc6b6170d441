"""App settings, read from the environment (Azure app settings / local.settings.json).

Every setting the app reads is declared here once, with its default; the README's
settings table and ``local.settings.json.example`` list the same names.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

STORAGE_CONNECTION_SETTING = "AzureWebJobsStorage"


class SettingsError(ValueError):
    """A setting has a value the app cannot use; the message names the setting."""


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number; set it to an integer from {low} to {high}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={value} is out of range; set it to an integer from {low} to {high}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean; use true or false")


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Sizes are in bytes, durations in seconds."""

    storage_connection: str
    queue: str = "tag-requests"
    images_container: str = "images"
    thumbnails_container: str = "thumbnails"
    images_table: str = "Images"
    batches_table: str = "Batches"
    tag_index_table: str = "TagIndex"
    fingerprints_table: str = "Fingerprints"
    default_user: str | None = None
    trust_principal_header: bool = True
    max_file_bytes: int = 20 * 1024 * 1024
    max_request_bytes: int = 104_857_600
    max_files: int = 100
    max_metadata_bytes: int = 8 * 1024
    sas_ttl_seconds: int = 900
    max_image_pixels: int = 100_000_000
    store_gps: bool = False
    storage_timeout_seconds: int = 10


    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        connection = env.get(STORAGE_CONNECTION_SETTING, "").strip()
        if not connection:
            raise SettingsError(
                f"{STORAGE_CONNECTION_SETTING} is not set; set it to a storage connection string "
                "(UseDevelopmentStorage=true for Azurite)"
            )
        return cls(
            storage_connection=connection,
            queue=env.get("TAGGING_QUEUE", cls.queue) or cls.queue,
            images_container=env.get("TAGGING_IMAGES_CONTAINER", cls.images_container) or cls.images_container,
            thumbnails_container=env.get("TAGGING_THUMBNAILS_CONTAINER", cls.thumbnails_container)
            or cls.thumbnails_container,
            images_table=env.get("TAGGING_IMAGES_TABLE", cls.images_table) or cls.images_table,
            batches_table=env.get("TAGGING_BATCHES_TABLE", cls.batches_table) or cls.batches_table,
            tag_index_table=env.get("TAGGING_TAG_INDEX_TABLE", cls.tag_index_table) or cls.tag_index_table,
            fingerprints_table=env.get("TAGGING_FINGERPRINTS_TABLE", cls.fingerprints_table) or cls.fingerprints_table,
            default_user=(env.get("TAGGING_DEFAULT_USER", "").strip() or None),
            trust_principal_header=_bool(env, "TAGGING_TRUST_PRINCIPAL_HEADER", True),
            max_file_bytes=_int(env, "TAGGING_MAX_FILE_BYTES", cls.max_file_bytes, 1, 104_857_600),
            max_request_bytes=_int(env, "TAGGING_MAX_REQUEST_BYTES", cls.max_request_bytes, 1, 104_857_600),
            max_files=_int(env, "TAGGING_MAX_FILES", cls.max_files, 1, 1000),
            sas_ttl_seconds=_int(env, "TAGGING_SAS_TTL_SECONDS", cls.sas_ttl_seconds, 30, 7 * 24 * 3600),
            max_image_pixels=_int(env, "TAGGING_MAX_IMAGE_PIXELS", cls.max_image_pixels, 1, 1_000_000_000),
            store_gps=_bool(env, "TAGGING_STORE_GPS", False),
            storage_timeout_seconds=_int(env, "TAGGING_STORAGE_TIMEOUT_SECONDS", cls.storage_timeout_seconds, 1, 300),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from ``os.environ``."""
    return Settings.from_env()
