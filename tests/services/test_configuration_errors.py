"""Unusable settings: the HTTP functions answer a JSON 500 ``configuration_error`` that
names the setting, instead of a bare 500 or accepting uploads nothing will tag."""
from __future__ import annotations

import pytest

from tagging.bindings import _services
from tests.support import images
from tests.support.host import body_json


@pytest.fixture
def env_without(app_env, monkeypatch):
    def remove(*names: str) -> None:
        for name in names:
            monkeypatch.delenv(name, raising=False)
        _services.reset()

    yield remove
    _services.reset()


def test_without_tagging_queue_uploads_are_refused_with_a_configuration_error(host, env_without):
    env_without("TAGGING_QUEUE")
    response = host.http("upload_images", "POST", "images", headers={"Content-Type": "image/jpeg"},
                         params={"filename": "a.jpg"}, body=images.solid())  # fmt: skip
    assert response.status_code == 500
    error = body_json(response)["error"]
    assert error["code"] == "configuration_error" and "TAGGING_QUEUE is not set" in error["message"]
    for name, path in (("list_images", "images"), ("health", "health")):
        answer = host.http(name, "GET", path)
        assert answer.status_code == 500 and "TAGGING_QUEUE" in body_json(answer)["error"]["message"]


def test_without_storage_settings_the_error_says_what_to_set(host, env_without):
    env_without("AzureWebJobsStorage")
    response = host.http("list_images", "GET", "images")
    assert response.status_code == 500
    message = body_json(response)["error"]["message"]
    assert "AzureWebJobsStorage" in message and "AzureWebJobsStorage__accountName" in message
