"""Test double: a token credential that returns an *unsigned* JWT.

Azurite started with ``--oauth basic`` checks a bearer token's audience, issuer and
times but not its signature, so this credential lets the tests drive the app's
identity code path (``AzureWebJobsStorage__blobServiceUri`` & co.) offline. It is
never used outside the tests: real Azure rejects an unsigned token.
"""
from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from typing import Any

from azure.core.credentials import AccessToken

STORAGE_AUDIENCE = "https://storage.azure.com"
TENANT_ID = "00000000-0000-0000-0000-0000000a2f17"


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class UnsignedJwtCredential:
    """A ``TokenCredential`` whose tokens are unsigned JWTs (alg ``none``) for
    ``https://storage.azure.com``, valid for ``lifetime_seconds``. Counts calls in
    ``calls``; ``fail`` makes every call raise (an identity endpoint that is down)."""

    def __init__(self, lifetime_seconds: int = 3600, object_id: str | None = None, tenant_id: str = TENANT_ID) -> None:
        self.lifetime_seconds = lifetime_seconds
        self.object_id = object_id or str(uuid.uuid4())
        self.tenant_id = tenant_id
        self.calls = 0
        self.fail: Exception | None = None
        self._lock = threading.Lock()

    def token(self) -> str:
        now = int(time.time())
        header = {"typ": "JWT", "alg": "none"}
        claims = {
            "aud": STORAGE_AUDIENCE,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": now - 60,
            "nbf": now - 60,
            "exp": now + self.lifetime_seconds,
            "oid": self.object_id,
            "tid": self.tenant_id,
            "appid": str(uuid.uuid5(uuid.NAMESPACE_URL, "tagging-tests")),
        }
        return f"{_b64(header)}.{_b64(claims)}."

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        with self._lock:
            self.calls += 1
        if self.fail is not None:
            raise self.fail
        return AccessToken(self.token(), int(time.time()) + self.lifetime_seconds)

    def close(self) -> None:
        pass

    def __enter__(self) -> UnsignedJwtCredential:
        return self

    def __exit__(self, *args: object) -> None:
        pass
