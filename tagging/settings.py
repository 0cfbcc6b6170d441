"""App settings, read from the environment (Azure app settings / local.settings.json).

Every setting the app reads is declared here once, with its default; the README's
settings table and ``local.settings.json.example`` list the same names.

Storage is reached either with a connection string (``AzureWebJobsStorage``) or with an
identity, through the settings the Functions host itself uses for identity-based
connections (``AzureWebJobsStorage__accountName`` or ``__blobServiceUri`` /
``__queueServiceUri`` / ``__tableServiceUri``, with ``__credential`` and ``__clientId``).
A connection string wins when both are set.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

STORAGE_CONNECTION_SETTING = "AzureWebJobsStorage"
QUEUE_SETTING = "TAGGING_QUEUE"
# The orphan sweeper's NCRONTAB schedule: read by the Functions host (%TAGGING_SWEEP_SCHEDULE%
# in its timer trigger), not by the app.
SWEEP_SCHEDULE_SETTING = "TAGGING_SWEEP_SCHEDULE"
SERVICES = ("blob", "queue", "table")
MANAGED_IDENTITY = "managedidentity"
DEFAULT_CREDENTIAL = "default"
_ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")
_QUEUE_NAME = re.compile(r"^(?=.{3,56}$)[a-z0-9]+(-[a-z0-9]+)*$")

class SettingsError(ValueError):
    """A setting has a value the app cannot use; the message names the setting."""


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(
            f"{name}={raw!r} is not a whole number; set it to an integer from {low} to {high}"
        ) from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={value} is out of range; set it to an integer from {low} to {high}")
    return value


def _fraction(env: Mapping[str, str], name: str, default: float) -> float:
    """A number from 0 to 1 (inclusive)."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number; set it to a number from 0 to 1, e.g. 0.8") from None
    if not 0.0 <= value <= 1.0:  # also refuses nan
        raise SettingsError(f"{name}={raw} is out of range; set it to a number from 0 to 1, e.g. 0.8")
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
class StorageConnection:
    """How the app reaches Storage: a connection string, or identity-based endpoints.

    Exactly one form is set: ``connection_string``, or all three of ``blob_uri``,
    ``queue_uri`` and ``table_uri`` (service endpoints, no trailing slash) with
    ``credential`` (``"managedidentity"``: ManagedIdentityCredential; ``"default"``:
    DefaultAzureCredential) and an optional ``client_id`` (a user-assigned identity).
    The connection string may hold an account key, so it is left out of ``repr``.
    """

    connection_string: str | None = field(default=None, repr=False)
    blob_uri: str | None = None
    queue_uri: str | None = None
    table_uri: str | None = None
    credential: str = DEFAULT_CREDENTIAL
    client_id: str | None = None

    def __post_init__(self) -> None:
        endpoints = (self.blob_uri, self.queue_uri, self.table_uri)
        if self.connection_string:
            if any(endpoints):
                raise SettingsError("a storage connection has either a connection string or service URIs, not both")
        elif not all(endpoints):
            raise SettingsError("an identity-based storage connection needs the blob, queue and table service URIs")
        if self.credential not in (MANAGED_IDENTITY, DEFAULT_CREDENTIAL):
            raise SettingsError(f"unknown storage credential kind {self.credential!r}")

    @property
    def uses_identity(self) -> bool:
        """True when requests are authorised with a Microsoft Entra token (no connection string)."""
        return not self.connection_string

    def describe(self) -> str:
        """A loggable one-liner: never the connection string, which may hold a key."""
        if self.connection_string:
            return "connection string"
        who = f", client id {self.client_id}" if self.client_id else ""
        return f"identity ({self.credential}{who}) at {self.blob_uri}, {self.queue_uri}, {self.table_uri}"

    @classmethod
    def from_env(cls, env: Mapping[str, str], name: str = STORAGE_CONNECTION_SETTING) -> StorageConnection:
        """The connection named ``name`` as the Functions host reads it: ``name`` (a
        connection string) wins; otherwise ``name__accountName`` (public-cloud endpoints
        ``https://<account>.<service>.core.windows.net``) and/or ``name__blobServiceUri``,
        ``name__queueServiceUri``, ``name__tableServiceUri`` (explicit URIs win over the
        account name), with ``name__credential`` and ``name__clientId``. Raises
        SettingsError naming what to set."""
        connection = env.get(name, "").strip()
        if connection:
            return cls(connection_string=connection)
        account = env.get(f"{name}__accountName", "").strip()
        if account and not _ACCOUNT_NAME.match(account):
            raise SettingsError(
                f"{name}__accountName={account!r} is not a storage account name (3-24 lowercase letters and digits)"
            )
        uris: dict[str, str] = {}
        for service in SERVICES:
            setting = f"{name}__{service}ServiceUri"
            raw = env.get(setting, "").strip() or (
                env.get(f"{name}__serviceUri", "").strip() if service == "blob" else ""
            )
            if raw:
                if not raw.startswith(("https://", "http://")) or len(raw) <= len("https://"):
                    raise SettingsError(f"{setting}={raw!r} is not a URL; set it to e.g. https://<account>.{service}.core.windows.net")
                uris[service] = raw.rstrip("/")
            elif account:
                uris[service] = f"https://{account}.{service}.core.windows.net"
        if not uris:
            raise SettingsError(
                f"storage is not configured: set {name} to a connection string (UseDevelopmentStorage=true for "
                f"Azurite), or use an identity with {name}__accountName (or {name}__blobServiceUri, "
                f"{name}__queueServiceUri and {name}__tableServiceUri)"
            )
        missing = [f"{name}__{s}ServiceUri" for s in SERVICES if s not in uris]
        if missing:
            raise SettingsError(
                f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set; the app uses blobs, queues and "
                f"tables, so set {name}__accountName or every service URI"
            )
        credential = env.get(f"{name}__credential", "").strip().lower()
        if credential and credential != MANAGED_IDENTITY:
            raise SettingsError(
                f"{name}__credential={credential!r} is not supported; set it to managedidentity, or leave it unset "
                "for DefaultAzureCredential (environment, workload identity, managed identity, Azure CLI)"
            )
        return cls(
            blob_uri=uris["blob"],
            queue_uri=uris["queue"],
            table_uri=uris["table"],
            credential=credential or DEFAULT_CREDENTIAL,
            client_id=env.get(f"{name}__clientId", "").strip() or None,
        )


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Sizes are in bytes, durations in seconds.

    ``storage_connection`` accepts a plain connection string for convenience (tools and
    tests); it is stored as a :class:`StorageConnection`. ``queue`` has no default: the
    Functions host resolves ``%TAGGING_QUEUE%`` only from app settings.
    """

    storage_connection: StorageConnection
    queue: str
    images_container: str = "images"
    thumbnails_container: str = "thumbnails"
    images_table: str = "Images"
    batches_table: str = "Batches"
    tag_index_table: str = "TagIndex"
    fingerprints_table: str = "Fingerprints"
    idempotency_table: str = "Idempotency"
    sweep_state_table: str = "SweepState"
    default_user: str | None = None
    trust_principal_header: bool = True
    max_file_bytes: int = 20 * 1024 * 1024
    max_request_bytes: int = 104_857_600
    max_files: int = 100
    max_metadata_bytes: int = 8 * 1024
    sas_ttl_seconds: int = 900
    max_image_pixels: int = 100_000_000
    instance_memory_mb: int = 2048  # sizes the decode budget (tagging/core/analysis/budget.py)
    store_gps: bool = False
    nsfw_threshold: float = 0.8  # tag "nsfw" from this Open-NSFW score (tagging/core/analysis/safety.py)
    storage_timeout_seconds: int = 10
    retention_days: int = 0  # 0: originals and thumbnails are kept for ever
    sweep_grace_seconds: int = 600  # an original with no record younger than this is an upload in flight
    sweep_stuck_seconds: int = 3600  # a record "queued" for longer than this lost its message
    sweep_max_items: int = 500  # originals checked and records re-queued per sweep, each

    def __post_init__(self) -> None:
        if isinstance(self.storage_connection, str):
            object.__setattr__(self, "storage_connection", StorageConnection(connection_string=self.storage_connection))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``env`` (``os.environ`` when None); raises SettingsError naming
        the setting to fix. Messages never contain the connection string."""
        env = os.environ if env is None else env
        connection = StorageConnection.from_env(env)
        queue = env.get(QUEUE_SETTING, "").strip()
        if not queue:
            raise SettingsError(
                f"{QUEUE_SETTING} is not set; set it to the tag queue's name (e.g. tag-requests), the same app "
                "setting the queue functions' %TAGGING_QUEUE% binding reads"
            )
        if not _QUEUE_NAME.match(queue):
            raise SettingsError(
                f"{QUEUE_SETTING}={queue!r} is not a usable queue name; use 3-56 lowercase letters, digits and "
                "single dashes (the poison queue adds -poison)"
            )
        return cls(
            storage_connection=connection,
            queue=queue,
            images_container=env.get("TAGGING_IMAGES_CONTAINER", cls.images_container) or cls.images_container,
            thumbnails_container=env.get("TAGGING_THUMBNAILS_CONTAINER", cls.thumbnails_container)
            or cls.thumbnails_container,
            images_table=env.get("TAGGING_IMAGES_TABLE", cls.images_table) or cls.images_table,
            batches_table=env.get("TAGGING_BATCHES_TABLE", cls.batches_table) or cls.batches_table,
            tag_index_table=env.get("TAGGING_TAG_INDEX_TABLE", cls.tag_index_table) or cls.tag_index_table,
            fingerprints_table=env.get("TAGGING_FINGERPRINTS_TABLE", cls.fingerprints_table) or cls.fingerprints_table,
            idempotency_table=env.get("TAGGING_IDEMPOTENCY_TABLE", cls.idempotency_table) or cls.idempotency_table,
            sweep_state_table=env.get("TAGGING_SWEEP_STATE_TABLE", cls.sweep_state_table) or cls.sweep_state_table,
            default_user=(env.get("TAGGING_DEFAULT_USER", "").strip() or None),
            trust_principal_header=_bool(env, "TAGGING_TRUST_PRINCIPAL_HEADER", True),
            max_file_bytes=_int(env, "TAGGING_MAX_FILE_BYTES", cls.max_file_bytes, 1, 104_857_600),
            max_request_bytes=_int(env, "TAGGING_MAX_REQUEST_BYTES", cls.max_request_bytes, 1, 104_857_600),
            max_files=_int(env, "TAGGING_MAX_FILES", cls.max_files, 1, 1000),
            sas_ttl_seconds=_int(env, "TAGGING_SAS_TTL_SECONDS", cls.sas_ttl_seconds, 30, 7 * 24 * 3600),
            max_image_pixels=_int(env, "TAGGING_MAX_IMAGE_PIXELS", cls.max_image_pixels, 1, 1_000_000_000),
            instance_memory_mb=_int(env, "TAGGING_INSTANCE_MEMORY_MB", cls.instance_memory_mb, 256, 65_536),
            store_gps=_bool(env, "TAGGING_STORE_GPS", False),
            nsfw_threshold=_fraction(env, "TAGGING_NSFW_THRESHOLD", cls.nsfw_threshold),
            storage_timeout_seconds=_int(env, "TAGGING_STORAGE_TIMEOUT_SECONDS", cls.storage_timeout_seconds, 1, 300),
            retention_days=_int(env, "TAGGING_RETENTION_DAYS", cls.retention_days, 0, 36500),
            sweep_grace_seconds=_int(env, "TAGGING_SWEEP_GRACE_SECONDS", cls.sweep_grace_seconds, 0, 7 * 24 * 3600),
            sweep_stuck_seconds=_int(env, "TAGGING_SWEEP_STUCK_SECONDS", cls.sweep_stuck_seconds, 0, 30 * 24 * 3600),
            sweep_max_items=_int(env, "TAGGING_SWEEP_MAX_ITEMS", cls.sweep_max_items, 1, 100_000),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from ``os.environ``."""
    return Settings.from_env()
