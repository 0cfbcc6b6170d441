"""The hot-path shortcuts in the adapters behave as the SDK calls they replace
(against Azurite): table transactions and range queries built by hand, and the lean
requests session under the SDK's pipeline."""
from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError

from tagging.adapters import _table_requests
from tagging.adapters.clients import _lean_session_class, _transport_options, get_clients
from tagging.settings import Settings


@pytest.fixture(scope="module")
def settings(azurite):
    return Settings(storage_connection=azurite.connection_string, queue="lean-requests")


@pytest.fixture
def table(settings):
    name = "Lean" + uuid.uuid4().hex[:12]
    service = get_clients(settings).table
    service.create_table(name)
    yield service.get_table_client(name)
    service.delete_table(name)


def test_clients_use_the_lean_session_without_a_proxy(settings, monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert _transport_options(settings)["use_env_settings"] is False
    clients = get_clients(settings)
    for client in (clients.blob, clients.queue, clients.table):
        assert isinstance(client._client._client._pipeline._transport.session, _lean_session_class())


def test_transaction_inserts_and_merges_like_submit_transaction(table):
    table.upsert_entity({"PartitionKey": "p", "RowKey": "a", "Kept": "yes", "Text": "old"})
    _table_requests.upsert_transaction(table, [
        {"PartitionKey": "p", "RowKey": "a", "Text": "new", "Confidence": 0.25},
        {"PartitionKey": "p", "RowKey": "b|it's", "Text": "quote and bar", "Confidence": 1.0},
        {"PartitionKey": "p", "RowKey": "c", "Count": 7, "Flag": True},
    ])  # fmt: skip
    a, b, c = table.get_entity("p", "a"), table.get_entity("p", "b|it's"), table.get_entity("p", "c")
    assert (a["Kept"], a["Text"], a["Confidence"]) == ("yes", "new", 0.25)  # merged, typed Edm.Double
    assert (b["Text"], b["Confidence"]) == ("quote and bar", 1.0) and isinstance(b["Confidence"], float)
    assert (c["Count"], c["Flag"]) == (7, True)


def test_a_failing_transaction_writes_nothing_and_raises_the_sdk_error(table):
    with pytest.raises(ValueError):  # two partitions in one transaction: refused before sending, as the SDK does
        _table_requests.upsert_transaction(table, [
            {"PartitionKey": "p", "RowKey": "x", "V": "1"}, {"PartitionKey": "q", "RowKey": "y", "V": "1"},
        ])  # fmt: skip
    with pytest.raises(HttpResponseError):  # one bad operation fails the whole changeset
        _table_requests.upsert_transaction(table, [
            {"PartitionKey": "p", "RowKey": "ok", "V": "1"}, {"PartitionKey": "p", "RowKey": "bad", "V": "x" * 70_000},
        ])  # fmt: skip
    assert list(table.list_entities()) == []


def test_range_query_matches_query_entities_and_follows_continuations(table, monkeypatch):
    rows = [
        {"PartitionKey": "u", "RowKey": f"{band}|img{i:03d}", "ImageId": f"img{i:03d}", "Phash": "ab", "Sha256": "cd"}
        for band in ("0a", "0b")
        for i in range(25)
    ]
    for start in range(0, len(rows), 25):
        _table_requests.upsert_transaction(table, rows[start : start + 25])
    table.upsert_entity({"PartitionKey": "v", "RowKey": "0a|other", "ImageId": "other", "Phash": "", "Sha256": ""})
    monkeypatch.setattr(_table_requests, "PAGE_SIZE", 7)  # force continuations
    found = list(_table_requests.range_query(table, "u", "0a|", "0a}", ["ImageId", "Phash", "Sha256"]))
    expected = list(table.query_entities(
        "PartitionKey eq @pk and RowKey ge @s and RowKey lt @e", parameters={"pk": "u", "s": "0a|", "e": "0a}"},
        select=["ImageId", "Phash", "Sha256"],
    ))  # fmt: skip
    assert [dict(r) for r in found] == [dict(e) for e in expected]
    assert [r["ImageId"] for r in found] == [f"img{i:03d}" for i in range(25)]
    assert list(_table_requests.range_query(table, "it's", "a", "b", ["ImageId"])) == []  # quotes in values


def test_lean_session_errors_are_the_sdks_when_storage_is_down():
    settings = Settings(
        storage_connection="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
        "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;"
        "QueueEndpoint=http://127.0.0.1:9/devstoreaccount1",
        queue="down",
        storage_timeout_seconds=1,
    )
    table = get_clients(settings).table.get_table_client("Nothing")
    with pytest.raises(ServiceRequestError):
        table.get_entity("p", "r")


def test_blob_put_and_get_match_the_sdk(settings):
    from azure.core.exceptions import ResourceNotFoundError

    from tagging.adapters import _blob_requests

    container = get_clients(settings).blob.get_container_client("lean-" + uuid.uuid4().hex[:12])
    container.create_container()
    try:
        assert _blob_requests.lean(container)
        meta = {"user_key": "bYWxpY2U", "filename": "caf%C3%A9.jpg", "uploaded_at": "2026-01-01T00:00:00.000Z"}
        _blob_requests.put(container, "u/one", b"\xff\xd8first", "image/jpeg", meta)
        _blob_requests.put(container, "u/one", b"\xff\xd8second", "image/jpeg", meta)  # overwrites
        _blob_requests.put(container, "u/one.jpg", b"thumb", "image/jpeg", cache_control="private, max-age=3600")
        data, metadata = _blob_requests.get(container, "u/one")
        assert data == b"\xff\xd8second" and metadata == {**meta, "content_type": "image/jpeg"}
        downloader = container.download_blob("u/one")
        assert downloader.readall() == data and dict(downloader.properties.metadata) == meta
        properties = container.get_blob_client("u/one.jpg").get_blob_properties()
        assert properties.content_settings.cache_control == "private, max-age=3600"
        assert properties.content_settings.content_type == "image/jpeg" and properties.blob_type == "BlockBlob"
        with pytest.raises(ResourceNotFoundError):
            _blob_requests.get(container, "u/missing")
    finally:
        container.delete_container()


def test_queue_send_is_what_the_host_decodes(settings):
    from dataclasses import replace

    from azure.storage.queue import BinaryBase64DecodePolicy

    from tagging.adapters.queues import TagQueue, decode_request
    from tagging.core.records import TagRequest

    queue_settings = replace(settings, queue="lean-" + uuid.uuid4().hex[:12])
    sender = TagQueue(queue_settings)
    request = TagRequest("bYWxpY2U", "1234567890123abcdef-000", force=True)
    sender.send(request)
    client = get_clients(queue_settings).queue.get_queue_client(
        queue_settings.queue, message_decode_policy=BinaryBase64DecodePolicy()
    )
    try:
        (message,) = list(client.receive_messages(max_messages=5))
        assert decode_request(message.content) == request
    finally:
        client.delete_queue()
