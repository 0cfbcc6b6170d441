"""Parse an upload body into files and the metadata field, with limits.

werkzeug's form parser does the parsing (azure-functions uses it for ``req.files``
too); we call it directly to cap the number of parts, which ``req.files`` does not.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.http import parse_options_header

from ..core.vocabulary import ErrorCode, ErrorKind
from ..services.errors import ServiceError

if TYPE_CHECKING:
    from ..services.upload import IncomingFile

EXTRA_PARTS = 16  # text fields allowed beside the files (metadata and a few others)
# A single non-file field. werkzeug also applies this to its read buffer (64 KiB
# chunks), so it must stay well above that; metadata has its own, smaller limit.
MAX_FIELD_BYTES = 1024 * 1024


@dataclass
class ParsedUpload:
    files: list[IncomingFile]
    metadata: str | None


def _in_memory(*_: object, **__: object) -> io.BytesIO:
    """File parts go to memory: the body already is (werkzeug's default spools every
    part over 500 KB to a temporary file on disk)."""
    return io.BytesIO()


def parse_upload(body: bytes, content_type: str, filename_param: str | None, max_files: int) -> ParsedUpload:
    """Files from a ``multipart/form-data`` body (every part with a filename) or from a
    raw ``image/*`` body. Raises ServiceError for anything else."""
    # Loaded on the first upload, not with the app (it brings the storage adapters).
    from ..services.upload import IncomingFile

    mimetype, options = parse_options_header(content_type or "")
    if mimetype == "multipart/form-data":
        if not options.get("boundary"):
            raise ServiceError(
                ErrorKind.INVALID, ErrorCode.MALFORMED_MULTIPART, "multipart/form-data needs a boundary parameter"
            )
        parser = FormDataParser(
            stream_factory=_in_memory,
            max_form_memory_size=MAX_FIELD_BYTES,
            max_form_parts=max_files + EXTRA_PARTS,
            silent=False,
        )
        try:
            _, form, files = parser.parse(io.BytesIO(body), mimetype, len(body), options)
        except RequestEntityTooLarge:
            raise ServiceError(
                ErrorKind.TOO_LARGE,
                ErrorCode.TOO_MANY_PARTS,
                f"at most {max_files} files and {EXTRA_PARTS} other fields per request, "
                f"each non-file field at most {MAX_FIELD_BYTES} bytes",
            ) from None
        except ValueError as error:
            raise ServiceError(
                ErrorKind.INVALID, ErrorCode.MALFORMED_MULTIPART, f"the multipart body is malformed: {error}"
            ) from None
        incoming = [
            IncomingFile(storage.filename, storage.read(), storage.mimetype or None)
            for _, storage in files.items(multi=True)
        ]
        metadata = form.getlist("metadata")
        if len(metadata) > 1:  # which one would be meant? (found by fuzzing: the first won)
            raise ServiceError(ErrorKind.INVALID, ErrorCode.INVALID_METADATA, "send at most one metadata field")
        return ParsedUpload(incoming, metadata[0] if metadata else None)
    if mimetype.startswith("image/"):
        return ParsedUpload([IncomingFile(filename_param, body, mimetype)] if body else [], None)
    raise ServiceError(
        ErrorKind.UNSUPPORTED,
        ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        "send multipart/form-data with file parts, or a raw body with Content-Type image/*",
    )
