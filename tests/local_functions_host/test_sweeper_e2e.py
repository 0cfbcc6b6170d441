"""The real app's sweeper as the runner schedules it: an upload that died after its
blob write (only the blob exists) is found by the timer and ends tagged."""
from __future__ import annotations

import pytest
import requests

from tagging.adapters import Storage
from tagging.core import keys
from tagging.core.records import ImageRecord, now_iso
from tagging.settings import Settings
from tests.support.host_process import private_storage, runner_env
from tests.support.wait import wait_until

from .conftest import ROOT, token

pytestmark = pytest.mark.e2e
PHOTO = (ROOT / "tests" / "fixtures" / "photos" / "chelsea.png").read_bytes()


def test_the_timer_sweeps_an_upload_that_died_after_its_blob_write(azurite, start_runner):
    env = runner_env(
        azurite.connection_string,
        **private_storage("sweep"),
        TAGGING_SWEEP_SCHEDULE="*/2 * * * * *",  # every 2 s (the example: every 15 min)
        TAGGING_SWEEP_GRACE_SECONDS="0",
        AzureFunctionsWebHost__hostid=f"sweep-e2e-{token()}",
        AzureFunctionsJobHost__extensions__queues__maxPollingInterval="00:00:00.500",
    )
    # Write 1 of 3 only, through the adapters and with the metadata the upload writes.
    storage = Storage.from_settings(Settings.from_env(env))
    user, image_id = keys.user_key("swept"), keys.image_id(keys.new_batch_id(), 0)
    record = ImageRecord(user, image_id, keys.batch_of(image_id), "cat.png", "image/png", len(PHOTO), now_iso())
    storage.blobs.put_original(record, PHOTO)

    runner = start_runner(ROOT, env, "--workers", "2")
    listed = {f["name"]: f for f in requests.get(runner.url("/admin/functions"), timeout=5).json()}
    assert listed["sweep_orphans"]["trigger"] == "timerTrigger" and "errors" not in listed["sweep_orphans"]

    def tagged() -> bool:
        response = requests.get(runner.url(f"/api/images/{image_id}"), headers={"X-MS-CLIENT-PRINCIPAL-ID": "swept"},
                                timeout=10)  # fmt: skip
        return response.status_code == 200 and response.json()["status"] == "tagged"

    wait_until(tagged, timeout=60, interval=0.5)
    log = runner.log()
    assert "executed function=sweep_orphans" in log and "trigger=timer" in log
    assert "sweep requeued=1 " in log
    assert runner.stop() == 0
