"""Read what the app left in storage for one user (tests check the storage itself)."""
from __future__ import annotations

from tagging.adapters import Storage
from tagging.adapters.queues import decode_request
from tagging.core.keys import user_key


def leftovers(storage: Storage, user: str, queue_client) -> dict[str, int]:
    """Counts of everything stored for ``user``: blobs, entities, index rows, messages."""
    key = user_key(user)
    blobs = storage.blobs._service
    settings = storage.blobs._settings
    counts = {
        "originals": _count_blobs(blobs, settings.images_container, key),
        "thumbnails": _count_blobs(blobs, settings.thumbnails_container, key),
    }
    for name, table in (("images", storage.images), ("batches", storage.batches), ("index", storage.index),
                        ("fingerprints", storage.fingerprints)):  # fmt: skip
        counts[name] = sum(1 for _ in table._range(key, "", "~", None))
    counts["messages"] = sum(1 for m in queue_client.peek_messages(max_messages=32) if _for_user(m.content, key))
    return counts


def _count_blobs(service, container: str, key: str) -> int:
    client = service.get_container_client(container)
    if not client.exists():
        return 0
    return sum(1 for _ in client.list_blobs(name_starts_with=f"{key}/"))


def _for_user(content: bytes, key: str) -> bool:
    try:
        return decode_request(content).user_key == key
    except ValueError:
        return False


NOTHING = {"originals": 0, "thumbnails": 0, "images": 0, "batches": 0, "index": 0, "fingerprints": 0, "messages": 0}
