"""Settings, host.json, indexing and message decoding (no server, no storage)."""
from __future__ import annotations

import base64
import json
import logging

import pytest

from local_functions_host.appsettings import (
    SettingsFileError,
    UnresolvedSetting,
    apply_values,
    find_settings_file,
    load_local_settings,
    resolve,
)
from local_functions_host.hostconfig import (
    HostConfigError,
    load_host_config,
    parse_queue_options,
    parse_singleton_options,
    parse_timespan,
)
from local_functions_host.queue_listener import Backoff, InvalidMessageEncoding, decode_body, poison_queue_name

from .conftest import ROOT


def test_expressions_resolve_anywhere_in_a_string():
    env = {"TAGGING_QUEUE": "tag-requests", "A": "x"}
    assert resolve("%TAGGING_QUEUE%-poison", env) == "tag-requests-poison"
    assert resolve("pre-%A%-%A%", env) == "pre-x-x"
    assert resolve("no expressions", env) == "no expressions"
    with pytest.raises(UnresolvedSetting, match="MISSING"):
        resolve("%MISSING%", env)


def test_local_settings_values_do_not_override_the_environment(tmp_path):
    (tmp_path / "local.settings.json").write_text(
        json.dumps({"IsEncrypted": False, "Values": {"A": "from-file", "B": "from-file", "N": 3, "T": True},
                    "Host": {"LocalHttpPort": 7199}})
    )
    settings = load_local_settings(find_settings_file(tmp_path))
    env = {"A": "from-env"}
    assert sorted(apply_values(settings.values, env)) == ["B", "N", "T"]
    assert env == {"A": "from-env", "B": "from-file", "N": "3", "T": "true"}
    assert settings.local_http_port == 7199


def test_only_local_settings_json_is_read_never_the_example(tmp_path):
    """The host resolves settings from app settings only: a ``.example`` beside the app
    is documentation, not settings (it once hid an unset %TAGGING_QUEUE%)."""
    (tmp_path / "local.settings.json.example").write_text('{"Values": {"TAGGING_QUEUE": "from-example"}}')
    assert find_settings_file(tmp_path) is None
    assert load_local_settings(find_settings_file(tmp_path)).values == {}
    (tmp_path / "local.settings.json").write_text('{"Values": {"A": "1"}}')
    assert find_settings_file(tmp_path) == tmp_path / "local.settings.json"
    explicit = tmp_path / "other.json"
    explicit.write_text('{"Values": {"B": "2"}}')
    assert load_local_settings(find_settings_file(tmp_path, explicit)).values == {"B": "2"}
    with pytest.raises(SettingsFileError, match="does not exist"):
        find_settings_file(tmp_path, tmp_path / "missing.json")


def test_encrypted_files_are_refused(tmp_path):
    (tmp_path / "local.settings.json").write_text('{"IsEncrypted": true, "Values": {}}')
    with pytest.raises(SettingsFileError, match="encrypted"):
        load_local_settings(find_settings_file(tmp_path))


def test_timespans():
    assert parse_timespan("00:00:02") == 2
    assert parse_timespan("00:01:00") == 60
    assert parse_timespan("1.00:00:00") == 86400
    assert parse_timespan("00:00:00.500") == 0.5
    with pytest.raises(HostConfigError):
        parse_timespan("2s")


def test_the_projects_host_json_and_overrides(tmp_path):
    document = json.loads((ROOT / "host.json").read_text())
    queues = document["extensions"]["queues"]
    config = load_host_config(ROOT, env={})
    assert config.route_prefix == document["extensions"]["http"]["routePrefix"]
    assert config.queues.batch_size == queues["batchSize"]
    assert config.queues.new_batch_threshold == queues["newBatchThreshold"]
    assert config.queues.max_polling_interval == parse_timespan(queues["maxPollingInterval"])
    assert config.queues.visibility_timeout == parse_timespan(queues["visibilityTimeout"])
    assert config.queues.max_dequeue_count == queues["maxDequeueCount"]
    assert config.queues.message_encoding == queues["messageEncoding"]
    assert config.function_timeout == parse_timespan(document["functionTimeout"])
    overridden = load_host_config(
        ROOT,
        env={
            "AzureFunctionsJobHost__extensions__queues__maxDequeueCount": "2",
            "AZUREFUNCTIONSJOBHOST__EXTENSIONS__HTTP__ROUTEPREFIX": "",
        },
    )
    assert overridden.queues.max_dequeue_count == 2 and overridden.route_prefix == ""
    assert load_host_config(tmp_path, env={}).queues.max_polling_interval == 2  # no host.json: local defaults


@pytest.mark.parametrize(
    "section",
    [{"batchSize": 33}, {"messageEncoding": "utf8"}, {"maxPollingInterval": "00:00:00.050"}, {"maxDequeueCount": 0}],
)
def test_queue_options_the_host_refuses(section):
    with pytest.raises(HostConfigError):
        parse_queue_options(section)


def test_singleton_options_follow_the_hosts_defaults_limits_and_overrides(tmp_path):
    # The host's SingletonOptions: a 60 s listener lock, recovery polled every minute.
    default = load_host_config(tmp_path, env={}).singleton
    assert (default.listener_lock_period, default.listener_lock_recovery_polling_interval) == (60, 60)
    overridden = load_host_config(tmp_path, env={
        "AzureFunctionsJobHost__singleton__listenerLockPeriod": "00:00:15",
        "AzureFunctionsJobHost__singleton__listenerLockRecoveryPollingInterval": "00:00:20",
    }).singleton  # fmt: skip
    assert (overridden.listener_lock_period, overridden.listener_lock_recovery_polling_interval) == (15, 20)
    for refused in ({"listenerLockPeriod": "00:00:14"}, {"listenerLockPeriod": "00:01:01"},
                    {"listenerLockRecoveryPollingInterval": "00:00:10"}):  # fmt: skip
        with pytest.raises(HostConfigError):
            parse_singleton_options(refused)


def test_default_new_batch_threshold_scales_with_cpus():
    assert parse_queue_options({"batchSize": 16}, cpus=4).new_batch_threshold == 32


def test_base64_decoding_is_strict_and_none_passes_text_through():
    assert decode_body(base64.b64encode(b"\x00\xffdata").decode(), "base64") == b"\x00\xffdata"
    assert decode_body("aGVs\r\nbG8=", "base64") == b"hello"  # whitespace is ignored, as in .NET
    for bad in ('{"plain": "json"}', "aGVsbG8", "not base64!"):
        with pytest.raises(InvalidMessageEncoding):
            decode_body(bad, "base64")
    assert decode_body('{"plain": "json"}', "none") == b'{"plain": "json"}'


def test_poison_queue_names():
    assert poison_queue_name("tag-requests") == "tag-requests-poison"
    assert poison_queue_name("tag-requests-poison") is None
    assert poison_queue_name("q" * 57) is None


@pytest.mark.parametrize(
    ("spread", "expected"),
    [
        # The host's RandomizedExponentialBackoffStrategy(100 ms, 2 s): 100 ms, then
        # 100 ms + spread * 100 ms * 2**(n-1), then exactly the maximum.
        (1.0, [0.1, 0.2, 0.3, 0.5, 0.9, 1.7, 2.0, 2.0, 2.0]),
        (0.8, [0.1, 0.18, 0.26, 0.42, 0.74, 1.38, 2.0, 2.0]),
        (1.2, [0.1, 0.22, 0.34, 0.58, 1.06, 2.0, 2.0]),
    ],
)
def test_backoff_is_the_hosts_randomised_exponential_strategy(monkeypatch, spread, expected):
    monkeypatch.setattr("local_functions_host.queue_listener.random.uniform", lambda low, high: spread)
    backoff = Backoff(maximum=2.0)
    assert [round(backoff.next(), 6) for _ in expected] == expected
    backoff.found()  # messages: the next wait is exactly the minimum, then it grows again
    assert [round(backoff.next(), 6) for _ in range(3)] == expected[:3]


def test_backoff_never_waits_less_than_the_host_at_the_maximum():
    """The host keeps exactly maxPollingInterval once reached (no randomisation below it):
    the runner must not poll an idle queue more often than the host does."""
    backoff = Backoff(maximum=0.5)
    delays = [backoff.next() for _ in range(200)]
    assert delays[0] == 0.1 and 0.18 <= delays[1] <= 0.22 and 0.26 <= delays[2] <= 0.34
    assert 0.42 <= delays[3] <= 0.5 and delays[4:] == [0.5] * 196


def test_host_json_azure_core_does_not_filter_python_sdk_loggers():
    """Like the worker: the root level (host.json Function) decides; Azure.Core is the
    .NET SDK's category and does not apply to Python's azure loggers."""
    import subprocess
    import sys

    probe = (
        "import logging; from local_functions_host import logsetup\n"
        "logsetup.configure({'Function': 'Information', 'Azure.Core': 'Error'})\n"
        "print(logging.getLogger('azure.core.pipeline.policies.http_logging_policy').getEffectiveLevel())"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == str(logging.INFO), done.stderr
