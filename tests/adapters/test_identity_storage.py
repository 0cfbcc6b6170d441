"""The identity path against a real Azurite: HTTPS, ``--oauth basic`` and a test token
credential (an unsigned JWT). Settings are the identity-based ones the Functions host
uses (``AzureWebJobsStorage__blobServiceUri`` & co., no connection string); reads go
through user-delegation SAS URLs signed by the app.

Azurite checks the token's audience, issuer and times, not its signature, and does not
enforce RBAC: role assignments can only be verified in Azure.
"""
from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from azure.storage.queue import BinaryBase64DecodePolicy, QueueClient

from tagging.adapters import get_storage
from tagging.adapters.blobs import BlobStore, original_name
from tagging.adapters.queues import decode_request
from tagging.core.keys import image_id as make_image_id
from tagging.core.keys import new_batch_id, user_key
from tagging.core.records import BatchRecord, ImageRecord, TagRequest, now_iso
from tagging.core.vocabulary import ImageStatus
from tagging.settings import get_settings
from tests.support import images
from tests.support.host import body_json
from tools.azurite import free_port

USER = "alice"


def _record(image: str, **changes) -> ImageRecord:  # type: ignore[no-untyped-def]
    values = dict(
        user_key=user_key(USER), id=image, batch_id=image.rsplit("-", 1)[0], filename="red square.jpg",
        content_type="image/jpeg", size=4, uploaded_at=now_iso(), status=ImageStatus.TAGGED, has_thumbnail=False,
    )  # fmt: skip
    values.update(changes)
    return ImageRecord(**values)


def _stored_image(storage, data: bytes = b"\xff\xd8 red") -> str:  # type: ignore[no-untyped-def]
    image = make_image_id(new_batch_id(), 0)
    record = _record(image)
    storage.blobs.put_original(record, data)
    storage.images.insert(record)
    return image


def _get(url: str, cert) -> requests.Response:  # type: ignore[no-untyped-def]
    return requests.get(url, verify=str(cert), timeout=10)


def _requests_since(azurite, offset: int) -> list[tuple[str, str]]:
    """(method, URL) of every request Azurite served after byte ``offset`` of its debug log."""
    with open(azurite.debug_log, "rb") as log:
        log.seek(offset)
        text = log.read().decode("utf-8", "replace")
    return re.findall(r"RequestMethod=(\w+) RequestURL=(\S+)", text)


def _served(azurite, offset: int, until, timeout: float = 10.0) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """The requests served after ``offset``, once ``until(requests)`` holds (Azurite
    writes its debug log asynchronously), plus a short settle for stragglers."""
    deadline = time.monotonic() + timeout
    while not until(_requests_since(azurite, offset)) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    return _requests_since(azurite, offset)


def _key_requests(served: list[tuple[str, str]]) -> list[str]:
    return [url for _, url in served if "comp=userdelegationkey" in url]


def _log_size(azurite) -> int:  # type: ignore[no-untyped-def]
    with open(azurite.debug_log, "rb") as log:
        return log.seek(0, 2)


def test_blob_queue_and_table_work_through_the_adapters_with_a_token(identity_env, token_credential):
    settings = get_settings()
    assert settings.storage_connection.uses_identity
    storage = get_storage(settings)
    key = user_key(USER)
    image = _stored_image(storage, b"original bytes")
    assert storage.blobs.get_original(key, image)[0] == b"original bytes"
    assert storage.images.get(key, image).filename == "red square.jpg"
    storage.batches.upsert(
        BatchRecord(key, image.rsplit("-", 1)[0], now_iso(), accepted=1, rejected=0, metadata={"a": 1})
    )
    assert storage.batches.get(key, image.rsplit("-", 1)[0]).metadata == {"a": 1}
    storage.queue.send(TagRequest(key, image))
    queue = QueueClient(
        identity_env.service_uri("queue"), settings.queue, credential=token_credential,
        connection_verify=str(identity_env.cert), message_decode_policy=BinaryBase64DecodePolicy(),
    )  # fmt: skip
    [message] = list(queue.receive_messages(max_messages=5, visibility_timeout=5))
    assert decode_request(message.content) == TagRequest(key, image)
    queue.delete_message(message)
    assert token_credential.calls >= 1
    assert len(token_credential.made) == 1  # one credential for blob, queue and table


def test_a_user_delegation_sas_reads_exactly_that_blob_and_only_reads(identity_env):
    storage = get_storage(get_settings())
    key = user_key(USER)
    image, other = _stored_image(storage, b"mine"), _stored_image(storage, b"not yours")
    url = storage.blobs.original_url(key, image, "red square.jpg")
    query = parse_qs(urlsplit(url).query)
    assert query["sp"] == ["r"] and "skoid" in query and "sig" in query  # a user-delegation SAS
    response = _get(url, identity_env.cert)
    assert response.status_code == 200 and response.content == b"mine"
    assert response.headers["Content-Disposition"] == "inline; filename*=UTF-8''red%20square.jpg"
    put = requests.put(
        url, data=b"overwritten", headers={"x-ms-blob-type": "BlockBlob"}, verify=str(identity_env.cert), timeout=10
    )
    assert put.status_code == 403
    assert _get(url.replace(original_name(key, image), original_name(key, other)), identity_env.cert).status_code == 403
    assert storage.blobs.get_original(key, image)[0] == b"mine"
    assert _get(url.split("?")[0], identity_env.cert).status_code in (401, 403, 404)  # no SAS: no anonymous read


def test_an_expired_user_delegation_sas_is_refused(identity_env):
    settings = get_settings()
    storage = get_storage(settings)
    image = _stored_image(storage, b"old")
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    past = BlobStore(settings, clock=lambda: an_hour_ago)  # signs SAS valid 15 min from an hour ago
    url = past.original_url(user_key(USER), image)
    expiry = datetime.fromisoformat(parse_qs(urlsplit(url).query)["se"][0].replace("Z", "+00:00"))
    assert expiry < datetime.now(UTC)
    response = _get(url, identity_env.cert)
    assert response.status_code == 403
    assert _get(storage.blobs.original_url(user_key(USER), image), identity_env.cert).status_code == 200


def test_the_delegation_key_is_fetched_once_for_many_urls_and_refreshed_near_expiry(identity_env):
    settings = get_settings()
    storage = get_storage(settings)
    image = _stored_image(storage, b"cached")
    now = [datetime.now(UTC)]
    store = BlobStore(settings, clock=lambda: now[0])
    before = _log_size(identity_env)
    urls = [store.original_url(user_key(USER), image) for _ in range(10)]
    urls += [store.thumbnail_url(user_key(USER), f"{image[:-1]}{n}") for n in range(10)]
    key_requests = _key_requests(_served(identity_env, before, lambda served: _key_requests(served)))
    assert len(key_requests) == 1 and store.signer.keys.fetches == 1
    assert _get(urls[-10 - 1], identity_env.cert).content == b"cached"
    now[0] += timedelta(hours=22)  # 2 h of the 24 h key left: kept
    store.original_url(user_key(USER), image)
    assert store.signer.keys.fetches == 1
    now[0] += timedelta(hours=1, minutes=30)  # 30 min left (< 2 x 15 min TTL + 15 min): replaced
    refreshed = store.original_url(user_key(USER), image)
    assert store.signer.keys.fetches == 2
    key_requests = _key_requests(_served(identity_env, before, lambda served: len(_key_requests(served)) >= 2))
    assert len(key_requests) == 2
    query = parse_qs(urlsplit(refreshed).query)
    assert query["se"][0] < query["ske"][0]  # ISO times in UTC compare as strings


def _http(functions, name: str, method: str, path: str, **kwargs):  # type: ignore[no-untyped-def]
    import azure.functions as func

    request = func.HttpRequest(
        method, f"http://localhost/api/{path}", headers=kwargs.pop("headers", {}), params=kwargs.pop("params", {}),
        route_params=kwargs.pop("route_params", {}), body=kwargs.pop("body", b""),
    )  # fmt: skip
    return functions[name].get_user_function()(request)


def test_the_http_functions_work_with_identity_settings_only(identity_env, functions, token_credential):
    health = _http(functions, "health", "GET", "health")
    assert health.status_code == 200, health.get_body()
    upload = _http(functions, "upload_images", "POST", "images", headers={"Content-Type": "image/jpeg"},
                   params={"filename": "red.jpg"}, body=images.solid((220, 20, 20), (80, 60)))  # fmt: skip
    assert upload.status_code == 202, upload.get_body()
    image = body_json(upload)["images"][0]["id"]
    detail = _http(functions, "get_image", "GET", f"images/{image}", route_params={"id": image})
    assert detail.status_code == 200, detail.get_body()
    view = body_json(detail)
    assert view["status"] == ImageStatus.QUEUED and view["thumbnail_url"] is None
    assert _get(view["url"], identity_env.cert).content == images.solid((220, 20, 20), (80, 60))
    listing = _http(functions, "list_images", "GET", "images")
    assert [i["id"] for i in body_json(listing)["images"]] == [image]
    assert len(token_credential.made) == 1


@pytest.mark.parametrize("env", ["identity_env", "key_env"])
def test_health_uses_data_plane_probes_and_counts_missing_resources_as_answers(env, functions, request):
    azurite = request.getfixturevalue(env)
    before = _log_size(azurite)
    response = _http(functions, "health", "GET", "health")
    assert response.status_code == 200, response.get_body()
    assert body_json(response) == {"status": "ok", "storage": {"blob": True, "queue": True, "table": True}}
    settings = get_settings()
    served = _served(azurite, before, lambda served: any(f"/{settings.images_table}()" in url for _, url in served)
                     and any(f"/{settings.queue}?" in url for _, url in served)
                     and any(f"/{settings.images_container}?" in url for _, url in served))  # fmt: skip
    assert not any("restype=service" in url for _, url in served), served  # no account-level (service properties) call
    assert any(f"/{settings.images_container}?restype=container" in url for _, url in served), served
    assert any(f"/{settings.queue}?comp=metadata" in url for _, url in served), served
    assert any(f"/{settings.images_table}()" in url for _, url in served), served
    assert not any(method in ("PUT", "POST") for method, _ in served), served  # the probes create nothing


def test_a_delegation_key_failure_is_503_with_retry_after(identity_env, functions, monkeypatch):
    from tagging.adapters import reset_storage
    from tagging.bindings import _services

    storage = get_storage(get_settings())
    image = _stored_image(storage)
    # Tables and queues still answer; the blob endpoint (which issues keys) does not.
    monkeypatch.setenv("AzureWebJobsStorage__blobServiceUri", f"https://127.0.0.1:{free_port()}/devstoreaccount1")
    _services.reset()
    reset_storage()
    response = _http(functions, "get_image", "GET", f"images/{image}", route_params={"id": image})
    assert response.status_code == 503, response.get_body()
    assert response.headers["Retry-After"] == "5"
    assert json.loads(response.get_body())["error"]["code"] == "storage_unavailable"
