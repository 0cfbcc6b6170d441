"""Settings: the storage connection in each form the Functions host accepts, the
required tag queue, retention, and errors that say what to set (never a secret)."""
from __future__ import annotations

import pytest

from tagging.settings import Settings, SettingsError

KEY_STRING = (
    "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0LWtleQ==;EndpointSuffix=core.windows.net"
)
BASE = {"TAGGING_QUEUE": "tag-requests"}


def settings(**env: str) -> Settings:
    return Settings.from_env({**BASE, **env})


def error(**env: str) -> str:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    return str(raised.value)


def test_a_connection_string():
    connection = settings(AzureWebJobsStorage=KEY_STRING).storage_connection
    assert connection.connection_string == KEY_STRING and not connection.uses_identity


def test_the_account_name_alone_gives_the_public_endpoints_and_the_default_credential():
    connection = settings(AzureWebJobsStorage__accountName="photosacct").storage_connection
    assert connection.uses_identity and connection.connection_string is None
    assert (connection.blob_uri, connection.queue_uri, connection.table_uri) == (
        "https://photosacct.blob.core.windows.net",
        "https://photosacct.queue.core.windows.net",
        "https://photosacct.table.core.windows.net",
    )
    assert connection.credential == "default" and connection.client_id is None


def test_service_uris_with_a_user_assigned_managed_identity():
    connection = settings(
        AzureWebJobsStorage__blobServiceUri="https://acct.blob.core.windows.net/",
        AzureWebJobsStorage__queueServiceUri="https://acct.queue.core.windows.net",
        AzureWebJobsStorage__tableServiceUri="https://acct.table.core.windows.net",
        AzureWebJobsStorage__credential="managedidentity",
        AzureWebJobsStorage__clientId="1f0e2d3c-0000-4000-8000-00000000abcd",
    ).storage_connection
    assert connection.blob_uri == "https://acct.blob.core.windows.net"  # trailing slash dropped
    assert connection.credential == "managedidentity" and connection.client_id == "1f0e2d3c-0000-4000-8000-00000000abcd"


def test_explicit_uris_win_over_the_account_name_per_service():
    connection = settings(
        AzureWebJobsStorage__accountName="acct",
        AzureWebJobsStorage__tableServiceUri="https://acct.table.cosmos.azure.com",
    ).storage_connection
    assert connection.blob_uri == "https://acct.blob.core.windows.net"
    assert connection.table_uri == "https://acct.table.cosmos.azure.com"


def test_a_connection_string_wins_over_identity_settings():
    connection = settings(AzureWebJobsStorage=KEY_STRING, AzureWebJobsStorage__accountName="other").storage_connection
    assert connection.connection_string == KEY_STRING and connection.blob_uri is None


def test_nothing_set_says_both_ways_to_configure_storage():
    message = error(TAGGING_QUEUE="q-one")
    assert "AzureWebJobsStorage" in message and "AzureWebJobsStorage__accountName" in message
    assert "AzureWebJobsStorage__blobServiceUri" in message


def test_a_missing_service_uri_is_named():
    message = error(
        TAGGING_QUEUE="q-one",
        AzureWebJobsStorage__blobServiceUri="https://acct.blob.core.windows.net",
        AzureWebJobsStorage__queueServiceUri="https://acct.queue.core.windows.net",
    )
    assert message.startswith("AzureWebJobsStorage__tableServiceUri is not set")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"AzureWebJobsStorage__accountName": "Not_An-Account"}, "AzureWebJobsStorage__accountName"),
        ({"AzureWebJobsStorage__accountName": "acct", "AzureWebJobsStorage__blobServiceUri": "acct.blob"},
         "AzureWebJobsStorage__blobServiceUri"),
        ({"AzureWebJobsStorage__accountName": "acct", "AzureWebJobsStorage__credential": "clientsecret"},
         "AzureWebJobsStorage__credential"),
    ],
)  # fmt: skip
def test_unusable_identity_settings_are_named(env, named):
    assert named in error(TAGGING_QUEUE="q-one", **env)


def test_the_connection_string_never_shows_in_repr_or_errors():
    value = settings(AzureWebJobsStorage=KEY_STRING)
    assert "c2VjcmV0LWtleQ" not in repr(value) and "c2VjcmV0LWtleQ" not in value.storage_connection.describe()
    message = error(AzureWebJobsStorage=KEY_STRING)  # no TAGGING_QUEUE
    assert "c2VjcmV0LWtleQ" not in message


def test_the_tag_queue_is_required_and_named():
    message = error(AzureWebJobsStorage=KEY_STRING)
    assert message.startswith("TAGGING_QUEUE is not set")
    assert "TAGGING_QUEUE" in error(AzureWebJobsStorage=KEY_STRING, TAGGING_QUEUE="Bad_Queue")
    assert "TAGGING_QUEUE" in error(AzureWebJobsStorage=KEY_STRING, TAGGING_QUEUE="q" * 57)  # -poison would not fit
    assert settings(AzureWebJobsStorage=KEY_STRING).queue == "tag-requests"


def test_retention_days():
    assert settings(AzureWebJobsStorage=KEY_STRING).retention_days == 0
    assert settings(AzureWebJobsStorage=KEY_STRING, TAGGING_RETENTION_DAYS="30").retention_days == 30
    assert "TAGGING_RETENTION_DAYS" in error(
        AzureWebJobsStorage=KEY_STRING, TAGGING_QUEUE="q-one", TAGGING_RETENTION_DAYS="-1"
    )
    assert "TAGGING_RETENTION_DAYS" in error(
        AzureWebJobsStorage=KEY_STRING, TAGGING_QUEUE="q-one", TAGGING_RETENTION_DAYS="a month"
    )


def test_code_built_settings_take_a_plain_connection_string():
    from tagging.settings import StorageConnection

    built = Settings(storage_connection="UseDevelopmentStorage=true", queue="tag-requests")
    assert built.storage_connection == StorageConnection(connection_string="UseDevelopmentStorage=true")
    assert hash(built) == hash(Settings(storage_connection="UseDevelopmentStorage=true", queue="tag-requests"))
    with pytest.raises(SettingsError):
        StorageConnection(blob_uri="https://a.blob.core.windows.net")  # queue and table missing
