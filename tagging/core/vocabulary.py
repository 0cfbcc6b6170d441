"""The app's words: every status, error code, outcome and tag source it stores, sends
or logs. StrEnums, so each member *is* its string (stored, sent and logged unchanged,
and equal to the bare string a client or an old row holds)."""
from __future__ import annotations

from enum import StrEnum
from typing import TypedDict


class ImageStatus(StrEnum):
    """Where an image stands (``Images.Status``, the API's ``status``)."""

    QUEUED = "queued"  # accepted, waiting for the tagger
    TAGGED = "tagged"  # analysed: tags, facts, thumbnail and index rows written
    FAILED = "failed"  # will not be tagged; ``error`` says why


class RetagStatus(StrEnum):
    """Where one image of a re-tag job stands."""

    QUEUED = "queued"
    TAGGED = "tagged"  # re-tagged, or already tagged by the current analysers since the request
    FAILED = "failed"  # not re-tagged; the image keeps its previous tags (see ``error``)


class RetagScope(StrEnum):
    """What a re-tag job covers: one image, all of the user's, or those tagged by
    another analysis version than the current one."""

    IMAGE = "image"
    ALL = "all"
    OUTDATED = "outdated"


class IdempotentOperation(StrEnum):
    """What an ``Idempotency-Key`` is scoped to, beside the user: the same key may be
    used once for each (``Idempotency.Operation``)."""

    UPLOAD = "upload"  # POST /api/images
    RETAG = "retag"  # POST /api/images/{id}/retag and POST /api/retags (one kind of job)


class TagOutcome(StrEnum):
    """How one tag request ended (the ``tag`` log event's ``outcome``)."""

    TAGGED = "tagged"
    FAILED = "failed"  # the image is marked failed (or a re-tag's job row is)
    SKIPPED = "skipped"  # nothing to do: already tagged, or not pending
    DROPPED = "dropped"  # not ours to tag: malformed, unsafe keys, or the image is gone


class TagSource(StrEnum):
    """Who produced a tag (``Tag.source``): an analyser's name, or the duplicate finder."""

    FACTS = "facts"
    EXIF = "exif"
    COLOUR = "colour"
    TRAITS = "traits"
    CLASSIFIER = "classifier"
    FACES = "faces"
    SAFETY = "safety"
    TEXT = "text"
    DUPLICATES = "duplicates"


class ErrorKind(StrEnum):
    """What kind of refusal a ServiceError is; the HTTP binding maps it to a status."""

    INVALID = "invalid"  # 400
    UNAUTHORIZED = "unauthorized"  # 401
    NOT_FOUND = "not_found"  # 404
    CONFLICT = "conflict"  # 409
    TOO_LARGE = "too_large"  # 413
    UNSUPPORTED = "unsupported"  # 415
    UNAVAILABLE = "unavailable"  # 503


class ErrorCode(StrEnum):
    """The stable ``code`` of an API error, a rejected file, a failed image or a failed
    re-tag row (clients branch on these; the message is for people)."""

    # Requests (HTTP answers)
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    LENGTH_REQUIRED = "length_required"
    REQUEST_TOO_LARGE = "request_too_large"
    MALFORMED_MULTIPART = "malformed_multipart"
    TOO_MANY_PARTS = "too_many_parts"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    INVALID_METADATA = "invalid_metadata"
    NO_FILES = "no_files"
    TOO_MANY_FILES = "too_many_files"
    NO_ACCEPTABLE_FILES = "no_acceptable_files"
    INVALID_TAG = "invalid_tag"
    INVALID_TEXT = "invalid_text"
    INVALID_LIMIT = "invalid_limit"
    INVALID_CONTINUATION = "invalid_continuation"
    INVALID_OUTDATED = "invalid_outdated"
    IMAGE_QUEUED = "image_queued"
    UNAUTHENTICATED = "unauthenticated"
    INVALID_PRINCIPAL = "invalid_principal"
    INVALID_IDEMPOTENCY_KEY = "invalid_idempotency_key"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    IDEMPOTENCY_IN_PROGRESS = "idempotency_in_progress"
    STORAGE_UNAVAILABLE = "storage_unavailable"
    CONFIGURATION_ERROR = "configuration_error"
    INTERNAL_ERROR = "internal_error"
    # Files and images (a rejected file, a failed image)
    EMPTY_FILE = "empty_file"
    FILE_TOO_LARGE = "file_too_large"
    IMAGE_TOO_LARGE = "image_too_large"
    UNSUPPORTED_FORMAT = "unsupported_format"
    CORRUPT_IMAGE = "corrupt_image"
    BLOB_MISSING = "blob_missing"
    PROCESSING_FAILED = "processing_failed"
    IMAGE_DELETED = "image_deleted"  # a re-tag row whose image was deleted


class ErrorDetail(TypedDict):
    """``{"code", "message"}``: an API error's body under ``error``, a rejected file's,
    a failed image's or a failed re-tag row's ``error``."""

    code: str
    message: str


def error_detail(code: ErrorCode | str, message: str) -> ErrorDetail:
    return {"code": code, "message": message}
