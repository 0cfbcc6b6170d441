"""Services built once per worker process, on first use (keeps cold start light)."""
from __future__ import annotations

from functools import lru_cache

from ..settings import Settings, get_settings


@lru_cache(maxsize=1)
def _storage():  # type: ignore[no-untyped-def]
    from ..adapters import get_storage

    return get_storage(get_settings())


def settings() -> Settings:
    return get_settings()


@lru_cache(maxsize=1)
def upload_service():  # type: ignore[no-untyped-def]
    from ..services.upload import UploadService

    return UploadService(get_settings(), _storage())


@lru_cache(maxsize=1)
def query_service():  # type: ignore[no-untyped-def]
    from ..services.query import QueryService

    return QueryService(get_settings(), _storage())


@lru_cache(maxsize=1)
def retag_service():  # type: ignore[no-untyped-def]
    from ..services.retag import RetagService

    return RetagService(get_settings(), _storage())


@lru_cache(maxsize=1)
def tag_service():  # type: ignore[no-untyped-def]
    from ..services.tagging import TagService

    return TagService(get_settings(), _storage())


def reset() -> None:
    """Forget cached settings and services (tests change the environment)."""
    get_settings.cache_clear()
    for cached in (_storage, upload_service, query_service, retag_service, tag_service):
        cached.cache_clear()
