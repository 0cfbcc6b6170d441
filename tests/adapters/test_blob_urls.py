"""Read URLs by connection kind: an account key signs a service SAS; a connection
string holding only a SAS token cannot sign, so URLs are None (not a 500) and one
warning per process says what to configure."""
from __future__ import annotations

import logging
import threading
from urllib.parse import parse_qs, urlsplit

from tagging.adapters.blobs import BlobStore
from tagging.settings import Settings

SAS_ONLY = (
    "BlobEndpoint=https://acct.blob.core.windows.net/;QueueEndpoint=https://acct.queue.core.windows.net/;"
    "TableEndpoint=https://acct.table.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=bqt&srt=sco&sp=rwdlacu"
    "&se=2031-01-01T00:00:00Z&sig=c2lnbmF0dXJl"
)


def _store(connection: str) -> BlobStore:
    return BlobStore(Settings(storage_connection=connection, queue="tag-requests"))


def test_an_account_key_signs_a_service_sas():
    url = _store("UseDevelopmentStorage=true").original_url("u", "0001", "cat photo.jpg")
    query = parse_qs(urlsplit(url).query)
    assert query["sp"] == ["r"] and query["sr"] == ["b"] and "skoid" not in query
    assert query["rscd"] == ["inline; filename*=UTF-8''cat%20photo.jpg"]


def test_a_sas_only_connection_string_gives_no_urls_and_warns_once(caplog, monkeypatch):
    from tagging.adapters import sas

    monkeypatch.setattr(sas, "_warned", threading.Event())
    store = _store(SAS_ONLY)
    with caplog.at_level(logging.WARNING, logger="tagging.adapters.sas"):
        assert store.original_url("u", "0001", "a.jpg") is None
        assert store.thumbnail_url("u", "0001") is None
        assert _store(SAS_ONLY).thumbnail_url("u", "0002") is None
    warnings = [r for r in caplog.records if r.name == "tagging.adapters.sas"]
    assert len(warnings) == 1
    assert "AccountKey" in warnings[0].getMessage() and "AzureWebJobsStorage__accountName" in warnings[0].getMessage()
    assert "c2lnbmF0dXJl" not in caplog.text  # the SAS token is never logged
