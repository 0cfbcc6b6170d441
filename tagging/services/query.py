"""Queries: a user's images (all, by tag, by words read in them), one image, a batch's
progress, tags; delete; health."""
from __future__ import annotations

import contextlib
import logging

from ..adapters import NotFound, Storage
from ..core import keys
from ..core.records import ImageRecord
from ..core.tags import is_tag_name, normalise_tag
from ..core.vocabulary import ErrorCode, ErrorKind
from ..logs import event
from ..settings import Settings
from .answers import BatchProgress, Health, ImageDetail, ImagePage, ImageSummary, TagCount, TagList
from .duplicates import DuplicateFinder
from .errors import ServiceError
from .links import Links
from .paging import decode_token, encode_token, parse_limit
from .views import batch_progress, image_detail, image_summary
from .words import MAX_IMAGE_WORDS, indexed_words, query_words

log = logging.getLogger(__name__)

_ID_END = chr(ord("9") + 1)  # sorts after every image id (they start with a digit)
SCAN_CHUNK = 100  # text index rows read per request while filtering a several-word search
MAX_SCAN = 1000  # rows one page may examine; a sparser match answers a short page + continuation


def _not_found(what: str) -> ServiceError:
    return ServiceError(ErrorKind.NOT_FOUND, ErrorCode.NOT_FOUND, f"no {what} with that id")


class QueryService:
    def __init__(self, settings: Settings, storage: Storage) -> None:
        self._settings = settings
        self._storage = storage
        self._duplicates = DuplicateFinder(storage)

    def list_images(
        self, user_key: str, tag: str | None, limit: str | None, continuation: str | None, text: str | None = None
    ) -> ImagePage:
        """A page of the user's images, newest first; with ``tag``, only those tagged so;
        with ``text``, only those in which every word of it was read (and tagged ``tag``
        too when both are given). Blank values count as absent."""
        page_size = parse_limit(limit)
        start = decode_token(continuation)
        has_tag = tag is not None and tag.strip() != ""
        if text is not None and text.strip() != "":
            return self._search_text(user_key, query_words(text), _tag_name(tag) if has_tag else None, page_size, start)
        if has_tag:
            return self._search(user_key, tag or "", page_size, start)
        rows = self._storage.images.range(user_key, start or "", _ID_END, page_size + 1)
        images = [self._summary(r) for r in rows[:page_size]]
        return {"images": images, "continuation": encode_token(rows[page_size].id) if len(rows) > page_size else None}

    def _search(self, user_key: str, raw_tag: str, page_size: int, start: str | None) -> ImagePage:
        name = _tag_name(raw_tag)
        rows = self._storage.index.search(user_key, name, start, page_size + 1)
        images = [self._summary(record) for record in rows[:page_size]]
        next_token = encode_token(rows[page_size].id) if len(rows) > page_size else None
        return {"images": images, "continuation": next_token, "tag": name}

    def _search_text(
        self, user_key: str, words: list[str], tag: str | None, page_size: int, start: str | None
    ) -> ImagePage:
        """Images in which all ``words`` were read (and tagged ``tag``), from the text
        index: the rows of one word (the longest, likely the rarest), each holding the
        image's words and tags to check the rest against. Never reads the images."""
        if len(words) > MAX_IMAGE_WORDS:  # no image holds that many: nothing to read
            empty: ImagePage = {"images": [], "continuation": None, "text": words}
            if tag:
                empty["tag"] = tag
            return empty
        driver = max(words, key=len)
        others = set(words) - {driver}
        simple = not others and tag is None
        chunk = page_size if simple else SCAN_CHUNK
        found: list[ImageSummary] = []
        next_id: str | None = None
        cursor, scanned = start, 0
        while next_id is None:
            rows = self._storage.words.search(user_key, driver, cursor, chunk + 1)
            for record, image_words in rows[:chunk]:
                if len(found) == page_size or scanned == MAX_SCAN:
                    next_id = record.id
                    break
                scanned += 1
                if others.issubset(image_words) and (tag is None or any(t.name == tag for t in record.tags)):
                    found.append(self._summary(record))
            else:
                if len(rows) <= chunk:
                    break
                cursor = rows[chunk].record.id
        answer: ImagePage = {"images": found, "continuation": encode_token(next_id) if next_id else None, "text": words}
        if tag is not None:
            answer["tag"] = tag
        return answer

    def get_image(self, user_key: str, image_id: str) -> ImageDetail:
        record, links = self._find(user_key, image_id), self._links()
        return image_detail(record, links.thumbnail(record), links.original(record))

    def get_batch(self, user_key: str, batch_id: str) -> BatchProgress:
        """A batch's progress, read from one RowKey range (the batch's image ids)."""
        if not keys.is_batch_id(batch_id):
            raise _not_found("batch")
        try:
            batch = self._storage.batches.get(user_key, batch_id)
        except NotFound:
            raise _not_found("batch") from None
        rows = self._storage.images.range(user_key, batch_id + "-", batch_id + ".", None)
        links = self._links()
        return batch_progress(batch, rows, [image_summary(r, links.thumbnail(r)) for r in rows])

    def list_tags(self, user_key: str) -> TagList:
        counts = self._storage.index.tag_counts(user_key)
        tags = sorted((TagCount(name=n, count=c) for n, c in counts.items()), key=lambda t: (-t["count"], t["name"]))
        return {"tags": tags}

    def delete_image(self, user_key: str, image_id: str) -> None:
        """Remove index rows, blobs, then the entity (last, so a retried delete finishes)."""
        record = self._find(user_key, image_id)
        if record.tags:
            self._storage.index.delete_rows(user_key, image_id, {t.name for t in record.tags})
        words = indexed_words(record.facts)
        if words:
            self._storage.words.delete_rows(user_key, image_id, words)
        self._storage.blobs.delete_image_blobs(user_key, image_id)
        self._duplicates.forget(user_key, image_id, record.phash)
        with contextlib.suppress(NotFound):
            self._storage.images.delete(user_key, image_id)
        event(log, "delete", image_id=image_id, outcome="deleted")

    def health(self) -> Health:
        services = self._storage.ping()
        return {"status": "ok" if all(services.values()) else "unavailable", "storage": services}

    def _links(self) -> Links:
        """URLs are None for images past ``retention_days``."""
        return Links(self._storage.blobs, self._settings.retention_days)

    def _summary(self, record: ImageRecord) -> ImageSummary:
        return image_summary(record, self._links().thumbnail(record))

    def _find(self, user_key: str, image_id: str) -> ImageRecord:
        if not keys.is_image_id(image_id):
            raise _not_found("image")
        record = self._storage.images.find(user_key, image_id)
        if record is None:
            raise _not_found("image")
        return record


def _tag_name(raw_tag: str | None) -> str:
    """``?tag=`` folded to a tag name; ServiceError 400 ``invalid_tag`` when nothing is left."""
    name = normalise_tag(raw_tag or "")
    if not name or not is_tag_name(name):
        raise ServiceError(
            ErrorKind.INVALID, ErrorCode.INVALID_TAG, "tag must contain letters or digits, e.g. ?tag=cat"
        )
    return name
