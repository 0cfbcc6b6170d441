"""How the storage clients read the environment: once, unless a proxy needs it per call."""
from __future__ import annotations

from tagging.adapters.clients import _transport_options
from tagging.settings import Settings

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy")


def _clear(monkeypatch) -> None:
    for name in (*PROXY_VARIABLES, "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


def test_without_a_proxy_the_environment_is_read_once_and_a_ca_bundle_passed_on(monkeypatch):
    _clear(monkeypatch)
    options = _transport_options(Settings(storage_connection="UseDevelopmentStorage=true"))
    assert options["use_env_settings"] is False and "connection_verify" not in options
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/corp-ca.pem")
    assert _transport_options(Settings(storage_connection="UseDevelopmentStorage=true"))["connection_verify"] == "/etc/corp-ca.pem"


def test_a_configured_proxy_keeps_the_per_call_lookup(monkeypatch):
    _clear(monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    options = _transport_options(Settings(storage_connection="UseDevelopmentStorage=true"))
    assert "use_env_settings" not in options  # the SDK default (True): requests matches NO_PROXY per URL
