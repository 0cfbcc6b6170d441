"""A binding that names an unset setting: that function is in error, the others run.

The host resolves ``%NAME%`` from the app settings in effect (the environment, and
``local.settings.json`` under Core Tools) and never from ``local.settings.json.example``;
an unresolved name is an indexing error of that one function ("The 'x' function is in
error: ... '%NAME%' does not resolve to a value"), and the host keeps running the rest.
"""
from __future__ import annotations

import json
import shutil

import pytest
import requests

from tests.support.host_process import private_storage, runner_env

from .conftest import HOST_APP, ROOT, Records, host_app_env

pytestmark = pytest.mark.e2e


def _status(runner, name: str) -> requests.Response:  # type: ignore[no-untyped-def]
    return requests.get(runner.url(f"/admin/functions/{name}/status"), timeout=10)


def test_an_unset_queue_setting_puts_its_functions_in_error_and_the_rest_keeps_running(
    azurite, queues, start_runner, tmp_path
):
    app_dir = tmp_path / "app"
    shutil.copytree(HOST_APP, app_dir)
    env, names = host_app_env(azurite.connection_string, tmp_path / "records.jsonl")
    fail_queue = env.pop("FAIL_QUEUE")
    # An example file beside the app must not stand in for the missing setting.
    (app_dir / "local.settings.json.example").write_text(json.dumps({"Values": {"FAIL_QUEUE": fail_queue}}))
    runner = start_runner(app_dir, env, use_example=False)  # the runner's own choice of settings file
    assert "Settings: no local.settings.json" in runner.log()

    assert requests.get(runner.url("/api/echo/abc"), timeout=10).status_code == 200
    queues.send(names["OK_QUEUE"], "still served")
    Records(tmp_path / "records.jsonl").wait_for(lambda r: any(x["body"] == "still served" for x in r))

    for name in ("always_fails", "failed_poison"):
        errors = _status(runner, name).json()["errors"]
        assert len(errors) == 1 and f"Error indexing method 'Functions.{name}'" in errors[0]
        assert "'%FAIL_QUEUE%' does not resolve to a value" in errors[0]
    assert not _status(runner, "succeeds").json().get("errors")
    assert _status(runner, "no_such_function").status_code == 404
    listed = {f["name"]: f for f in requests.get(runner.url("/admin/functions"), timeout=10).json()}
    assert listed["always_fails"]["errors"] and "errors" not in listed["succeeds"]

    log = runner.log()
    assert "The 'always_fails' function is in error: Error indexing method 'Functions.always_fails'" in log
    assert "The 'failed_poison' function is in error:" in log
    assert "set FAIL_QUEUE in local.settings.json or the environment" in log


def test_the_real_app_without_tagging_queue_reports_tag_image_in_error(azurite, start_runner, tmp_path):
    example = json.loads((ROOT / "local.settings.json.example").read_text())
    values = {k: v for k, v in example["Values"].items() if k != "TAGGING_QUEUE"}
    settings = tmp_path / "local.settings.json"
    settings.write_text(json.dumps({"IsEncrypted": False, "Values": values}))
    storage = {k: v for k, v in private_storage("noqueue").items() if k != "TAGGING_QUEUE"}
    runner = start_runner(ROOT, runner_env(azurite.connection_string, **storage), "--settings-file", str(settings))

    for name in ("tag_image", "tag_image_poison"):
        [error] = _status(runner, name).json()["errors"]
        assert "'%TAGGING_QUEUE%' does not resolve to a value" in error
    assert requests.get(runner.url("/api/ui"), timeout=10).status_code == 200  # the HTTP functions are served
    assert "The 'tag_image' function is in error" in runner.log()
