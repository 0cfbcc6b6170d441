"""The web page: static files under ``tagging/ui/static`` and how they are looked up.

Only files that exist in that folder when the module first serves are reachable, by
their exact relative path (a dictionary lookup, never a filesystem path built from
the request), so ``..``, absolute paths and encoded tricks find nothing.

``index.html`` is a small template: ``{{hash:NAME}}`` becomes a short content hash of
the asset NAME (so ``app.css?v=...`` changes whenever the file does and can be cached
for a year), and ``{{base}}`` the page's own URL path, so relative links work at both
``/api/ui`` and ``/api/ui/``.
"""
from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
INDEX = "index.html"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webmanifest": "application/manifest+json",
}
_PLACEHOLDER = re.compile(r"\{\{hash:([A-Za-z0-9_.-]+)\}\}")


@dataclass(frozen=True)
class Asset:
    name: str
    body: bytes
    content_type: str
    version: str  # short content hash; also the ETag's value

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


def _version(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:16]


@lru_cache(maxsize=1)
def assets() -> dict[str, Asset]:
    """Every servable file by relative POSIX path (read once per process)."""
    found: dict[str, Asset] = {}
    for path in sorted(STATIC_DIR.rglob("*")):
        content_type = CONTENT_TYPES.get(path.suffix.lower())
        if not path.is_file() or content_type is None or path.name.startswith("."):
            continue
        name = path.relative_to(STATIC_DIR).as_posix()
        body = path.read_bytes()
        found[name] = Asset(name, body, content_type, _version(body))
    return found


def find(path: str) -> Asset | None:
    """The asset at ``path`` (as in the URL after ``ui/``), or None."""
    if path == INDEX:
        return None  # the page is rendered, see page()
    return assets().get(path)


def page(base_path: str) -> Asset:
    """``index.html`` with asset versions and ``<base href>`` filled in."""
    template = assets()[INDEX].body.decode("utf-8")

    def version_of(match: re.Match[str]) -> str:
        asset = assets().get(match.group(1))
        if asset is None:
            raise LookupError(f"index.html refers to a missing asset {match.group(1)!r}")
        return asset.version

    text = _PLACEHOLDER.sub(version_of, template).replace("{{base}}", html.escape(base_path, quote=True))
    body = text.encode("utf-8")
    return Asset(INDEX, body, CONTENT_TYPES[".html"], _version(body))


def base_path(url_path: str) -> str:
    """The folder URL of the page for a request path: ``/api/ui`` and ``/api/ui/``
    (and ``/api/ui/index.html``) all give ``/api/ui/``."""
    path = url_path or "/"
    if path.endswith("/" + INDEX):
        path = path[: -len(INDEX)]
    return path if path.endswith("/") else path + "/"
