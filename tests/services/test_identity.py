import pytest

from tagging.core.keys import user_key
from tagging.services.errors import ServiceError
from tagging.services.identity import resolve_user
from tagging.settings import Settings


def settings(**overrides):
    return Settings(storage_connection="UseDevelopmentStorage=true", queue="tag-requests", **overrides)


def test_header_wins_when_trusted():
    assert resolve_user("alice", settings(default_user="local")) == user_key("alice")


def test_default_user_applies_only_when_set():
    assert resolve_user(None, settings(default_user="local")) == user_key("local")
    with pytest.raises(ServiceError) as error:
        resolve_user(None, settings())
    assert error.value.kind == "unauthorized"


def test_untrusted_header_is_ignored():
    with pytest.raises(ServiceError):
        resolve_user("mallory", settings(trust_principal_header=False))
    assert resolve_user("mallory", settings(trust_principal_header=False, default_user="local")) == user_key("local")


def test_unusable_header_is_400():
    with pytest.raises(ServiceError) as error:
        resolve_user("a\nb", settings())
    assert error.value.kind == "invalid" and error.value.code == "invalid_principal"
