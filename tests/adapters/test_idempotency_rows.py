"""The Idempotency row format: a stored answer fits Table Storage's property limit; the
operation of a row stored before keys were scoped."""
from __future__ import annotations

from datetime import UTC, datetime

from tagging.adapters.idempotency import IdempotencyRecord, record_from_entity, record_to_entity

MAX_PROPERTY_BYTES = 64 * 1024  # a string property: at most 64 KiB of UTF-16


def test_an_answer_of_emoji_file_names_is_split_under_the_property_limit() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    names = [("\U0001f408" * 250) + f"-{n}.jpg" for n in range(100)]  # astral: 4 bytes each in UTF-16
    result = {
        "batch_id": "8000000000000abcdef", "images": [{"id": f"x-{n:03d}", "filename": f} for n, f in enumerate(names)]
    }
    record = IdempotencyRecord(
        "buser", "a" * 64, "f" * 64, now, now, "8000000000000abcdef", "2026-12-01T00:00:00.000Z", result
    )
    entity = record_to_entity(record)
    parts = [entity[f"Result{i}"] for i in range(entity["ResultParts"])]
    assert len(parts) > 1
    assert all(len(part.encode("utf-16-le")) <= MAX_PROPERTY_BYTES for part in parts)
    assert record_from_entity(entity).result == result


def test_a_row_stored_before_keys_were_scoped_reads_as_the_operation_its_id_tells() -> None:
    from tagging.core.vocabulary import IdempotentOperation

    now = datetime(2026, 12, 1, tzinfo=UTC)
    for batch_id, operation in (("8000000000000abcdef", "upload"), ("r8000000000000abcdef", "retag")):
        record = IdempotencyRecord("buser", "a" * 64, "f" * 64, now, now, batch_id, "2026-12-01T00:00:00.000Z",
                                   operation=IdempotentOperation(operation))  # fmt: skip
        entity = record_to_entity(record)
        assert entity["Operation"] == operation and record_from_entity(entity) == record
        del entity["Operation"]  # as rows were stored before
        assert record_from_entity(entity).operation == operation
