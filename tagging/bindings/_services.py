"""Services built once per worker process, on first use (keeps cold start light)."""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from ..settings import Settings, get_settings

if TYPE_CHECKING:  # imported on first use below, not at cold start
    from ..adapters import Storage
    from ..services.query import QueryService
    from ..services.retag import RetagService
    from ..services.tagging import TagService
    from ..services.upload import UploadService


@lru_cache(maxsize=1)
def _storage() -> Storage:
    from ..adapters import get_storage

    return get_storage(get_settings())


def settings() -> Settings:
    return get_settings()


@lru_cache(maxsize=1)
def upload_service() -> UploadService:
    from ..services.upload import UploadService

    return UploadService(get_settings(), _storage())


@lru_cache(maxsize=1)
def query_service() -> QueryService:
    from ..services.query import QueryService

    return QueryService(get_settings(), _storage())


@lru_cache(maxsize=1)
def retag_service() -> RetagService:
    from ..services.retag import RetagService

    return RetagService(get_settings(), _storage())


@lru_cache(maxsize=1)
def tag_service() -> TagService:
    from ..services.tagging import TagService

    return TagService(get_settings(), _storage())


def reset() -> None:
    """Forget cached settings and services (tests change the environment)."""
    get_settings.cache_clear()
    for cached in (_storage, upload_service, query_service, retag_service, tag_service):
        cached.cache_clear()
