"""How the storage clients read the environment: once, unless a proxy needs it per call."""
from __future__ import annotations

from tagging.adapters.clients import _transport_options
from tagging.settings import Settings

PROXY_VARIABLES = (
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy"
)


def _clear(monkeypatch) -> None:
    for name in (*PROXY_VARIABLES, "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


def test_without_a_proxy_the_environment_is_read_once_and_a_ca_bundle_passed_on(monkeypatch):
    _clear(monkeypatch)
    options = _transport_options(Settings(storage_connection="UseDevelopmentStorage=true", queue="tag-requests"))
    assert options["use_env_settings"] is False and "connection_verify" not in options
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/corp-ca.pem")
    assert _transport_options(
        Settings(storage_connection="UseDevelopmentStorage=true", queue="tag-requests")
    )["connection_verify"] == "/etc/corp-ca.pem"


def test_a_configured_proxy_keeps_the_per_call_lookup(monkeypatch):
    _clear(monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    options = _transport_options(Settings(storage_connection="UseDevelopmentStorage=true", queue="tag-requests"))
    assert "use_env_settings" not in options  # the SDK default (True): requests matches NO_PROXY per URL


def _run(code: str) -> str:
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {"PATH": "/usr/bin:/bin", "AZURE_CLIENT_ID": "", "HOME": "/tmp"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


BUILD = """
import sys
from tagging.settings import Settings
from tagging.adapters.clients import get_clients, get_credential
settings = Settings.from_env({{"TAGGING_QUEUE": "tag-requests", {env}}})
clients = get_clients(settings)
print("azure.identity" in sys.modules, clients.blob.url, type(clients.blob.credential).__name__)
if settings.storage_connection.uses_identity:
    credential = get_credential(settings.storage_connection)
    assert clients.blob.credential is credential
    assert clients.queue.credential is credential and clients.table.credential is credential
    assert get_credential(settings.storage_connection) is credential  # one per process
    print(type(credential).__name__)
"""


def test_a_connection_string_never_imports_azure_identity():
    out = _run(BUILD.format(env='"AzureWebJobsStorage": "UseDevelopmentStorage=true"'))
    assert out.split()[0] == "False"


def test_identity_settings_build_one_credential_of_the_configured_kind():
    default = _run(BUILD.format(env='"AzureWebJobsStorage__accountName": "acct"')).split()
    assert default[:2] == ["True", "https://acct.blob.core.windows.net/"] and default[-1] == "DefaultAzureCredential"
    managed = _run(BUILD.format(env='"AzureWebJobsStorage__accountName": "acct", '
                                    '"AzureWebJobsStorage__credential": "managedidentity", '
                                    '"AzureWebJobsStorage__clientId": "0000-client"')).split()  # fmt: skip
    assert managed[-1] == "ManagedIdentityCredential"
