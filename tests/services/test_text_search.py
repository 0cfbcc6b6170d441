"""The text index against a real Azurite: the tagger keeps one row per word read in an
image (facts.text.words, from a test double of the text analyser), re-tagging removes
the rows of words no longer read, deleting the image removes them all, and
``?text=`` searches read the index (several words: all must match; with ``tag``)."""
from __future__ import annotations

import pytest

from tagging.core.analysis.facts import FactsAnalyser
from tagging.core.keys import user_key
from tagging.core.records import TagRequest
from tagging.services.errors import ServiceError
from tagging.services.query import QueryService
from tagging.services.tagging import TagService
from tagging.services.upload import IncomingFile, UploadService
from tagging.services.words import indexed_words, query_words
from tagging.settings import get_settings
from tests.support.analysers import FacesDouble, ReadingDouble, photo_with
from tests.support.storage import NOTHING, leftovers


@pytest.fixture
def reading():
    return ReadingDouble()


@pytest.fixture
def services(storage, host, reading):
    settings = get_settings()
    tagger = TagService(settings, storage, [FactsAnalyser(), reading, FacesDouble()])
    yield UploadService(settings, storage), tagger, QueryService(settings, storage)
    host.queue().clear_messages()


def _tagged(services, user: str, text: str, faces: str = "") -> str:
    upload, tagger, _ = services
    result = upload.upload(user_key(user), [IncomingFile("sign.jpg", photo_with(text, faces))], None)
    image_id = result.images[0]["id"]
    assert tagger.process(TagRequest(user_key(user), image_id)).outcome == "tagged"
    return image_id


def _ids(answer) -> list[str]:
    return [image["id"] for image in answer["images"]]


def test_words_are_indexed_and_found_with_any_case_and_punctuation(services, storage):
    _, _, query = services
    image = _tagged(services, "txt-find", "EXIT only | Platform 9")
    key = user_key("txt-find")
    assert sorted(storage.words.row_keys(key)) == sorted(f"{w}|{image}" for w in ("exit", "only", "platform"))
    found = query.list_images(key, None, None, None, text="Exit!")
    assert _ids(found) == [image] and found["text"] == ["exit"]
    assert found["images"][0]["tags"] and found["images"][0]["analysis_version"] == "1"
    assert _ids(query.list_images(key, None, None, None, text="entrance")) == []
    # The tag index is not the text index: "exit" is no tag, and tags list no words.
    assert _ids(query.list_images(key, "exit", None, None)) == []
    assert "exit" not in {t["name"] for t in query.list_tags(key)["tags"]}


def test_several_words_must_all_match_and_tag_narrows(services):
    _, _, query = services
    key = user_key("txt-all")
    both = _tagged(services, "txt-all", "open daily")
    one = _tagged(services, "txt-all", "open late", faces="0.2,0.2,0.3,0.4,0.95")
    assert _ids(query.list_images(key, None, None, None, text="open")) == [one, both]  # newest first
    assert _ids(query.list_images(key, None, None, None, text="daily open")) == [both]
    assert _ids(query.list_images(key, None, None, None, text="open nothing")) == []
    # Combined with a tag (the faces double tags "person"): both must match.
    person = query.list_images(key, "Person", None, None, text="open")
    assert _ids(person) == [one] and person["tag"] == "person" and person["text"] == ["open"]


def test_text_search_pages_like_tag_search(services):
    _, _, query = services
    key = user_key("txt-pages")
    ids = [_tagged(services, "txt-pages", f"menu {n}") for n in range(3)]
    first = query.list_images(key, None, "2", None, text="menu")
    assert _ids(first) == [ids[2], ids[1]] and first["continuation"]
    second = query.list_images(key, None, "2", first["continuation"], text="menu")
    assert _ids(second) == [ids[0]] and second["continuation"] is None
    # Filtered (two words) pages too: one image in three has "lunch".
    more = [_tagged(services, "txt-pages", text) for text in ("menu lunch", "menu", "menu lunch")]
    page = query.list_images(key, None, "1", None, text="lunch menu")
    assert _ids(page) == [more[2]] and page["continuation"]
    rest = query.list_images(key, None, "1", page["continuation"], text="lunch menu")
    assert _ids(rest) == [more[0]]
    assert rest["continuation"] is None or _ids(
        query.list_images(key, None, "1", rest["continuation"], text="lunch menu")
    ) == []


def test_retag_removes_rows_of_words_no_longer_read_and_delete_removes_all(services, storage, reading, host):
    _, tagger, query = services
    key = user_key("txt-retag")
    image = _tagged(services, "txt-retag", "fresh bread")
    reading.override = "fresh fish"
    assert tagger.process(TagRequest(key, image, force=True)).outcome == "tagged"
    assert sorted(storage.words.row_keys(key)) == [f"fish|{image}", f"fresh|{image}"]
    assert _ids(query.list_images(key, None, None, None, text="bread")) == []
    assert _ids(query.list_images(key, None, None, None, text="fish")) == [image]
    reading.override = ""  # no text read any more
    tagger.process(TagRequest(key, image, force=True))
    assert storage.words.row_keys(key) == []
    reading.override = "fresh fish"
    tagger.process(TagRequest(key, image, force=True))
    query.delete_image(key, image)
    assert storage.words.row_keys(key) == []
    host.queue().clear_messages()
    assert leftovers(storage, "txt-retag", host.queue()) == NOTHING | {"batches": 1}


@pytest.mark.parametrize("raw", ["!", "a b c", "x", "--"])
def test_a_query_without_a_usable_word_is_refused(raw):
    with pytest.raises(ServiceError) as caught:
        query_words(raw)
    assert caught.value.code == "invalid_text"


def test_blank_text_lists_everything_and_more_words_than_an_image_holds_match_nothing(services, reading):
    _, _, query = services
    key = user_key("txt-blank")
    image = _tagged(services, "txt-blank", "")
    assert _ids(query.list_images(key, None, None, None, text="  ")) == [image]
    many = " ".join(f"w{n}" for n in range(51))
    full = _tagged(services, "txt-blank", " ".join(f"w{n}" for n in range(50)))
    assert _ids(query.list_images(key, None, None, None, text=" ".join(f"w{n}" for n in range(50)))) == [full]
    assert query.list_images(key, None, None, None, text=many)["images"] == []


def test_indexed_words_fold_and_cap_malformed_facts():
    assert indexed_words({}) == []
    assert indexed_words({"text": "not a dict"}) == []
    assert indexed_words({"text": {"words": ["Hello", "hello", "x", 5, "don't", "a-b"]}}) == ["hello", "don", "a-b"]
    assert len(indexed_words({"text": {"words": [f"w{n}" for n in range(80)]}})) == 50
    assert query_words("Caf\u00e9 MENU, menu") == ["caf", "menu"]
