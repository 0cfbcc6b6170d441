"""No key, connection string or SAS token reaches the logs, even at DEBUG."""
from __future__ import annotations

import logging
import re

from tagging.logs import SDK_LOGGERS
from tests.support import images
from tests.support.host import body_json
from tools.azurite import ACCOUNT_KEY


def test_logs_hold_no_secrets(host, caplog):
    caplog.set_level(logging.DEBUG)
    for sdk in SDK_LOGGERS:  # the app keeps them at WARNING: open them up for this check
        caplog.set_level(logging.DEBUG, logger=sdk)
    response = host.http("upload_images", "POST", "images", user="logged", headers={"Content-Type": "image/jpeg"},
                         params={"filename": "l.jpg"}, body=images.solid())  # fmt: skip
    image_id = body_json(response)["images"][0]["id"]
    host.drain()
    detail = body_json(host.http("get_image", "GET", "i", user="logged", route_params={"id": image_id}))
    host.http("list_images", "GET", "images", user="logged")
    signature = re.search(r"sig=([^&]+)", detail["url"]).group(1)
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "tag image_id=" in text and "outcome=tagged" in text  # the structured lines are there
    for secret in (ACCOUNT_KEY, ACCOUNT_KEY[:20], "AccountKey=", signature):
        assert secret not in text
    assert not re.search(r"sig=[A-Za-z0-9%]{10,}", text)
