"""Duplicate detection through the fingerprint index, against Azurite."""
from __future__ import annotations

import threading
from pathlib import Path

from tagging.core.keys import user_key
from tests.support import images
from tests.support.host import body_json, multipart

PHOTOS = Path(__file__).parents[1] / "fixtures" / "photos"


def upload(host, user, *files):
    body, ctype = multipart([("f", name, data, "image/jpeg") for name, data in files])
    response = host.http("upload_images", "POST", "images", user=user, headers={"Content-Type": ctype}, body=body)
    assert response.status_code == 202, response.get_body()
    return [i["id"] for i in body_json(response)["images"]]


def facts(host, user, image_id):
    detail = body_json(host.http("get_image", "GET", "i", user=user, route_params={"id": image_id}))
    return detail["facts"], {t["name"] for t in detail["tags"]}


def test_exact_and_near_duplicates_point_at_the_oldest_copy(host):
    photo = (PHOTOS / "chelsea.png").read_bytes()
    [first] = upload(host, "dups", ("cat.png", photo))
    host.drain()
    [exact, near, other] = upload(
        host, "dups", ("copy.png", photo), ("small.jpg", images.reencoded(photo, 0.5, 60)),
        ("coffee.png", (PHOTOS / "coffee.png").read_bytes()),
    )  # fmt: skip
    host.drain()
    first_facts, first_tags = facts(host, "dups", first)
    assert "duplicate" not in first_tags and "duplicate_of" not in first_facts
    exact_facts, exact_tags = facts(host, "dups", exact)
    assert "duplicate" in exact_tags
    assert exact_facts["duplicate_of"] == first and exact_facts["duplicate_kind"] == "exact"
    near_facts, near_tags = facts(host, "dups", near)
    assert "duplicate" in near_tags and near_facts["duplicate_of"] == first and near_facts["duplicate_kind"] == "near"
    other_facts, other_tags = facts(host, "dups", other)
    assert "duplicate" not in other_tags and "duplicate_of" not in other_facts
    search = body_json(host.http("list_images", "GET", "images", user="dups", params={"tag": "duplicate"}))
    assert {i["id"] for i in search["images"]} == {exact, near}


def test_copies_tagged_concurrently_converge(host, storage):
    photo = (PHOTOS / "rocket.jpg").read_bytes()
    ids = upload(host, "racers", ("a.jpg", photo), ("b.jpg", photo), ("c.jpg", photo))
    client = host.queue()
    messages = list(client.receive_messages(max_messages=32, visibility_timeout=60))
    threads = [threading.Thread(target=host.run_message, args=(m.content,)) for m in messages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for message in messages:
        client.delete_message(message)
    host.drain()  # re-check requests sent by an older copy that saw newer ones
    oldest = ids[0]
    for image_id in ids[1:]:
        assert facts(host, "racers", image_id)[0].get("duplicate_of") == oldest
    assert "duplicate_of" not in facts(host, "racers", oldest)[0]


def test_the_newest_copy_that_saw_only_the_middle_one_is_rechecked_to_the_oldest(host):
    # The interleaving the concurrent test can hit: the middle copy is tagged first and
    # sees no one, the newest then sees only the middle one, the oldest comes last.
    from tagging.adapters.queues import decode_request

    photo = (PHOTOS / "rocket.jpg").read_bytes()
    oldest, middle, newest = upload(host, "order", ("a.jpg", photo), ("b.jpg", photo), ("c.jpg", photo))
    client = host.queue()
    messages = {decode_request(m.content).image_id: m for m in client.receive_messages(max_messages=32)}
    for image_id in (middle, newest, oldest):
        host.run_message(messages[image_id].content)
        client.delete_message(messages[image_id])
    assert facts(host, "order", newest)[0].get("duplicate_of") == middle  # before the re-checks
    host.drain()
    assert facts(host, "order", middle)[0].get("duplicate_of") == oldest
    assert facts(host, "order", newest)[0].get("duplicate_of") == oldest
    assert "duplicate_of" not in facts(host, "order", oldest)[0]


def test_delete_forgets_fingerprints(host, storage):
    photo = (PHOTOS / "camera.png").read_bytes()
    [first] = upload(host, "forget", ("a.png", photo))
    host.drain()
    host.http("delete_image", "DELETE", "i", user="forget", route_params={"id": first})
    assert list(storage.fingerprints._range(user_key("forget"), "", "~", None)) == []
    [second] = upload(host, "forget", ("b.png", photo))
    host.drain()
    assert "duplicate_of" not in facts(host, "forget", second)[0]
