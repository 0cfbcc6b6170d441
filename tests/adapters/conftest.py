"""Fixtures for the identity path: Azurite over HTTPS with ``--oauth basic`` and a
test token credential (an unsigned JWT, see tests/support/fake_token.py)."""
from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

import pytest

from tools.azurite import Azurite


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """(cert.pem, key.pem): a self-signed certificate for 127.0.0.1 and localhost,
    valid for two days, made now (nothing secret is kept in the repository)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture(scope="session")
def oauth_azurite(tmp_path_factory):
    """A second Azurite, HTTPS with ``--oauth basic``, logging every request to
    ``instance.debug_log``; ``instance.cert`` is the certificate clients must trust."""
    directory = tmp_path_factory.mktemp("oauth-azurite")
    cert, key = self_signed_certificate(directory)
    debug_log = directory / "debug.log"
    instance = Azurite.start(cert=cert, key=key, oauth=True, debug_log=debug_log, log_file=directory / "azurite.log")
    instance.cert = cert  # type: ignore[attr-defined]
    instance.debug_log = debug_log  # type: ignore[attr-defined]
    yield instance
    instance.stop()


@pytest.fixture
def token_credential():
    """The test double, installed as the app's credential factory for one test."""
    from tagging.adapters import reset_storage
    from tagging.adapters.clients import use_credential_factory
    from tests.support.fake_token import UnsignedJwtCredential

    credential = UnsignedJwtCredential()
    made: list[object] = []

    def factory(connection):  # type: ignore[no-untyped-def]
        made.append(connection)
        return credential

    credential.made = made  # type: ignore[attr-defined]
    use_credential_factory(factory)
    reset_storage()
    yield credential
    use_credential_factory(None)
    reset_storage()


def _use_env(monkeypatch, azurite, storage: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """Point the app's environment at ``azurite`` with ``storage`` settings, fresh
    container/queue/table names, and the instance's certificate trusted."""
    import secrets

    from tagging.adapters import reset_storage
    from tagging.bindings import _services

    suffix = secrets.token_hex(3)
    for name in ("AzureWebJobsStorage", "AzureWebJobsStorage__accountName", "AzureWebJobsStorage__blobServiceUri",
                 "AzureWebJobsStorage__queueServiceUri", "AzureWebJobsStorage__tableServiceUri"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        **storage,
        "REQUESTS_CA_BUNDLE": str(azurite.cert),
        "TAGGING_QUEUE": f"id-{suffix}",
        "TAGGING_IMAGES_CONTAINER": f"images-{suffix}",
        "TAGGING_THUMBNAILS_CONTAINER": f"thumbs-{suffix}",
        "TAGGING_IMAGES_TABLE": f"Images{suffix}",
        "TAGGING_BATCHES_TABLE": f"Batches{suffix}",
        "TAGGING_TAG_INDEX_TABLE": f"TagIndex{suffix}",
        "TAGGING_FINGERPRINTS_TABLE": f"Fingerprints{suffix}",
        "TAGGING_DEFAULT_USER": "alice",
    }.items():
        monkeypatch.setenv(name, value)
    _services.reset()
    reset_storage()


def _forget() -> None:
    from tagging.adapters import reset_storage
    from tagging.bindings import _services

    _services.reset()
    reset_storage()


@pytest.fixture
def identity_env(oauth_azurite, token_credential, monkeypatch):
    """The process environment of an app using identity-based storage settings against
    the OAuth Azurite (no connection string), with fresh container/queue/table names."""
    _use_env(
        monkeypatch,
        oauth_azurite,
        {**oauth_azurite.identity_settings(), "AzureWebJobsStorage__credential": "managedidentity"},
    )
    yield oauth_azurite
    _forget()


@pytest.fixture
def key_env(oauth_azurite, monkeypatch):
    """As identity_env, but with the account-key connection string (HTTPS) instead."""
    _use_env(monkeypatch, oauth_azurite, {"AzureWebJobsStorage": oauth_azurite.connection_string})
    yield oauth_azurite
    _forget()
