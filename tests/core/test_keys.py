import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tagging.core import keys

FORBIDDEN = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=1024))
def test_user_key_is_always_table_safe_and_short(user_id):
    key = keys.user_key(user_id)
    assert not FORBIDDEN.search(key)
    assert set(key) <= set(string.ascii_letters + string.digits + "-_")
    assert len(key) <= 129


@given(st.text(min_size=1, max_size=200).filter(lambda s: not any(ord(c) < 32 or 127 <= ord(c) <= 159 for c in s)),
       st.text(min_size=1, max_size=200).filter(lambda s: not any(ord(c) < 32 or 127 <= ord(c) <= 159 for c in s)))
def test_user_key_is_injective(a, b):
    if a != b:
        assert keys.user_key(a) != keys.user_key(b)


def test_user_key_hashes_long_ids_and_inlines_short_ones():
    assert keys.user_key("alice").startswith("b")
    long = keys.user_key("x" * 500)
    assert long.startswith("h") and len(long) == 65


@pytest.mark.parametrize("bad", ["", "a\x00b", "tab\there", "x" * 1025, "\x85"])
def test_user_key_refuses_unusable_ids(bad):
    with pytest.raises(keys.InvalidUserId):
        keys.user_key(bad)


def test_ids_sort_newest_first_and_batches_are_contiguous():
    older = keys.new_batch_id(now_ms=1_700_000_000_000)
    newer = keys.new_batch_id(now_ms=1_700_000_000_001)
    assert newer < older
    assert keys.is_batch_id(older) and keys.is_batch_id(newer)
    members = [keys.image_id(older, i) for i in (0, 1, 99, 999)]
    assert all(keys.is_image_id(m) and keys.batch_of(m) == older for m in members)
    assert all(older + "-" <= m < older + "." for m in members)
    assert keys.image_id(newer, 999) < keys.image_id(older, 0)
    with pytest.raises(ValueError):
        keys.image_id(older, 1000)


@pytest.mark.parametrize("bad", ["", "abc", "../x", "1234567890123abcdef-1", "1234567890123ABCDEF-001"])
def test_image_id_pattern_rejects_anything_else(bad):
    assert not keys.is_image_id(bad)


def test_is_user_key_accepts_exactly_what_user_key_returns():
    assert keys.is_user_key(keys.user_key("alice")) and keys.is_user_key(keys.user_key("z" * 500))
    for bad in ("", "alice", "b", "b/x", "b" + "a" * 200, "h" + "0" * 63, "hXYZ"):
        assert not keys.is_user_key(bad), bad
