"""Timer triggers: NCRONTAB/TimeSpan schedules, indexing, and a runner firing them as
the host does (one process per timer across workers, no overlap, past due, run on startup)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from azure.storage.blob import BlobServiceClient

from local_functions_host.schedule import ConstantSchedule, CronSchedule, ScheduleError, parse_schedule
from local_functions_host.timer_listener import NEVER, ScheduleStatus, check_past_due
from tests.support.host_process import runner_env
from tests.support.wait import wait_until

from .conftest import ROOT, Records, token

TIMER_APP = Path(__file__).parent / "apps" / "timerapp"
T0 = datetime(2024, 1, 1, 0, 7, 3, tzinfo=UTC)  # a Monday


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# -- schedules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("0 */15 * * * *", utc(2024, 1, 1, 0, 15)),  # {second} {minute} {hour} {day} {month} {day-of-week}
        ("30 7 0 * * *", utc(2024, 1, 1, 0, 7, 30)),  # seconds come first, unlike croniter's default
        ("*/5 * * * *", utc(2024, 1, 1, 0, 10)),  # 5 fields: no seconds (the extension's HasSeconds)
        ("0 0 12 * * MON-FRI", utc(2024, 1, 1, 12)),
        ("0 0 9 * Feb Sat", utc(2024, 2, 3, 9)),  # names, any case
        ("0 0 0 13 * 5", utc(2024, 9, 13)),  # NCrontab: day AND day-of-week (Friday the 13th), not OR
        ("0 0 0 31 * *", utc(2024, 1, 31)),
        ("00:00:10", T0 + timedelta(seconds=10)),  # a TimeSpan repeats
        ("1.02:00", T0 + timedelta(days=1, hours=2)),
        ("2", T0 + timedelta(days=2)),  # TimeSpan.TryParse: a whole number is days
    ],
)
def test_next_occurrence(expression, expected):
    assert parse_schedule(expression).next_after(T0) == expected


def test_an_occurrence_is_strictly_after_the_base_time():
    schedule = parse_schedule("0 */15 * * * *")
    assert schedule.next_after(utc(2024, 1, 1, 0, 15)) == utc(2024, 1, 1, 0, 30)


@pytest.mark.parametrize(
    "expression",
    ["", "bogus", "* * *", "0 0 0 1 1 * 2025", "0 0 0 L * *", "0 0 0 ? * MON", "0 0 0 * * MON#1", "H * * * * *",
     "@daily", "61 * * * * *", "0 0 25 * * *", "24:00:00", "00:60"],
)  # fmt: skip
def test_what_ncrontab_and_timespan_refuse_is_refused_with_the_extensions_message(expression):
    with pytest.raises(ScheduleError, match="was not recognized as a valid cron expression or timespan string"):
        parse_schedule(expression)


def test_sub_minute_schedules_turn_the_monitor_off():
    assert parse_schedule("*/10 * * * * *").sub_minute
    assert parse_schedule("00:00:30").sub_minute
    assert not parse_schedule("0 * * * * *").sub_minute  # once a minute
    assert not parse_schedule("*/10 5 * * * *").sub_minute  # the minute is restricted
    assert isinstance(parse_schedule("* * * * *"), CronSchedule)
    assert isinstance(parse_schedule("00:05:00"), ConstantSchedule)


def test_past_due_follows_the_schedule_monitor():
    schedule = parse_schedule("0 0 * * * *")  # hourly
    now = utc(2024, 1, 1, 10, 30)
    fresh, past_due, write = check_past_due(None, schedule, now)
    assert (fresh.next, past_due, write) == (utc(2024, 1, 1, 11), False, True)
    # The last run was at 8:00 and recorded Next 9:00: 9:00 was missed.
    recorded = ScheduleStatus(utc(2024, 1, 1, 8), utc(2024, 1, 1, 9), utc(2024, 1, 1, 8))
    assert check_past_due(recorded, schedule, now)[1:] == (True, False)
    # Never ran, but the status was written at 9:10 with Next 10:00: missed too.
    recorded = ScheduleStatus(NEVER, utc(2024, 1, 1, 10), utc(2024, 1, 1, 9, 10))
    assert check_past_due(recorded, schedule, now)[1] is True
    # The schedule changed (Next is not what Last gives): re-based on now, not past due.
    changed = ScheduleStatus(utc(2024, 1, 1, 8), utc(2024, 1, 1, 8, 20), utc(2024, 1, 1, 8))
    status, past_due, write = check_past_due(changed, schedule, now)
    assert (status.next, past_due, write) == (utc(2024, 1, 1, 11), False, True)


# -- indexing --------------------------------------------------------------------------

PROBE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from local_functions_host.indexing import index_functions, load_app
    from local_functions_host.http_server import describe
    indexed = index_functions(load_app(Path(sys.argv[1])), json.loads(sys.argv[2]))
    print(json.dumps({"functions": [describe(f, "api") for f in indexed.functions], "errors": indexed.errors}))
    """
)


def probe(env: dict[str, str]) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, str(TIMER_APP), json.dumps(env)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_timer_functions_are_indexed_with_resolved_schedules_and_errors():
    indexed = probe({"AzureWebJobsStorage": "UseDevelopmentStorage=true", "TICK_SCHEDULE": "*/2 * * * * *",
                     "DAILY_SCHEDULE": "0 30 4 * * *", "MONITORED_SCHEDULE": "0 0 0 30 2 *"})  # fmt: skip
    functions = {f["name"]: f for f in indexed["functions"]}
    assert functions["tick"] == {"name": "tick", "trigger": "timerTrigger", "schedule": "*/2 * * * * *",
                                 "runOnStartup": False, "useMonitor": False}  # sub-minute: no monitor
    assert functions["daily"] == {"name": "daily", "trigger": "timerTrigger", "schedule": "0 30 4 * * *",
                                  "runOnStartup": True, "useMonitor": True}  # fmt: skip
    assert indexed["errors"] == {}

    broken = probe({"AzureWebJobsStorage": "UseDevelopmentStorage=true", "TICK_SCHEDULE": "every minute",
                    "DAILY_SCHEDULE": "0 30 4 * * *"})  # fmt: skip
    assert "was not recognized as a valid cron expression" in broken["errors"]["tick"]
    assert "'%MONITORED_SCHEDULE%' does not resolve to a value" in broken["errors"]["monitored"]
    assert [f["name"] for f in broken["functions"]] == ["daily", "ping"]

    no_storage = probe({"TICK_SCHEDULE": "0 * * * * *", "DAILY_SCHEDULE": "0 * * * * *", "MONITORED_SCHEDULE": "1"})
    assert "AzureWebJobsStorage is not set" in no_storage["errors"]["daily"]


# -- a runner firing them --------------------------------------------------------------


def write_status(connection_string: str, host: str, function: str, status: ScheduleStatus) -> None:
    service = BlobServiceClient.from_connection_string(connection_string)
    container = service.get_container_client("azure-webjobs-hosts")
    if not container.exists():
        container.create_container()
    container.upload_blob(f"timers/{host}/Host.Functions.{function}/status", json.dumps(status.as_dict()),
                          overwrite=True)  # fmt: skip


@pytest.mark.e2e
def test_timers_fire_on_schedule_in_one_worker_without_overlap(azurite, start_runner, tmp_path):
    host = f"runner-test-{token()}"
    records = Records(tmp_path / "records.jsonl")
    # "monitored" and "daily" run yearly (on 1 January), so no occurrence falls inside the
    # test however long it takes. "monitored" recorded Next = this year's 1 January, which
    # has passed: it is past due when the runner starts.
    now = datetime.now(UTC)
    this_year = datetime(now.year, 1, 1, tzinfo=UTC)
    last_year = datetime(now.year - 1, 1, 1, tzinfo=UTC)
    write_status(azurite.connection_string, host, "monitored", ScheduleStatus(last_year, this_year, last_year))
    env = runner_env(
        azurite.connection_string, RUNNER_TEST_RECORDS=str(records.path), AzureFunctionsWebHost__hostid=host,
        TICK_SCHEDULE="*/1 * * * * *", TICK_SECONDS="1.5", DAILY_SCHEDULE="0 0 0 1 1 *",
        MONITORED_SCHEDULE="0 0 0 1 1 *",
    )  # fmt: skip
    runner = start_runner(TIMER_APP, env, "--workers", "2", use_example=False)

    listed = {f["name"]: f for f in requests.get(runner.url("/admin/functions"), timeout=5).json()}
    assert listed["tick"]["trigger"] == "timerTrigger" and listed["tick"]["schedule"] == "*/1 * * * * *"
    assert listed["monitored"]["useMonitor"] is True
    assert requests.get(runner.url("/admin/functions/tick/status"), timeout=5).json() == {}

    # 8 runs of 1.5 s: past the supervisor's 10 s "died right after starting" window.
    records.wait_for(lambda r: len([x for x in r if x["function"] == "tick_done"]) >= 8, timeout=40)
    daily = records.where("daily")
    assert len(daily) == 1 and daily[0]["past_due"] is False  # run_on_startup, once
    assert daily[0]["schedule"] == {"AdjustForDST": True}
    assert daily[0]["status"]["Next"].startswith(f"{now.year + 1}-01-01T00:00:00")  # the next occurrence
    monitored = records.where("monitored")
    assert len(monitored) == 1 and monitored[0]["past_due"] is True
    assert monitored[0]["status"]["Next"] == this_year.isoformat()

    ticks = records.where("tick_start")
    done = records.where("tick_done")
    assert ticks[0]["status"] == {}  # sub-minute: no schedule monitor, no status
    # Never two at once: each run starts after the previous one finished.
    # strict=False: the last tick's done has no following start (or it is still running).
    for previous, following in zip(done, ticks[1:], strict=False):
        assert following["t"] >= previous["t"]
    # Two workers, one runner per timer: each timer ran in one process (each has its own
    # lock, as in the host, so two timers may well run in different workers). The lease
    # is the host's default (60 s, first renewed after 30 s): however starved its holder
    # is, nothing can take a timer from it within this test's ~20 s.
    pids: dict[str, set[int]] = {}
    for record in records.all():
        pids.setdefault(record["function"].removesuffix("_start").removesuffix("_done"), set()).add(record["pid"])
    assert set(pids) == {"tick", "daily", "monitored"} and all(len(p) == 1 for p in pids.values()), pids

    # The monitored timer recorded its status after running.
    blob = BlobServiceClient.from_connection_string(azurite.connection_string).get_blob_client(
        "azure-webjobs-hosts", f"timers/{host}/Host.Functions.monitored/status")
    status = ScheduleStatus.parse(blob.download_blob().readall())
    assert status is not None and status.next > datetime.now(UTC) and status.last != NEVER
    assert runner.stop() == 0


@pytest.mark.e2e
def test_a_starved_holder_loses_its_timer_to_the_other_worker_and_stands_down(azurite, start_runner, tmp_path):
    """The holder is frozen (SIGSTOP) past its lease: the other worker takes the timer
    over; when the holder resumes, its overdue renewal is refused (409) and it runs no
    further occurrence, as the host stops its listeners then. The starvation that made
    a loaded machine run the timer in two workers, reproduced on purpose."""
    host = f"runner-test-{token()}"
    records = Records(tmp_path / "records.jsonl")
    env = runner_env(
        azurite.connection_string, RUNNER_TEST_RECORDS=str(records.path), AzureFunctionsWebHost__hostid=host,
        TICK_SCHEDULE="*/1 * * * * *", TICK_SECONDS="0.5", DAILY_SCHEDULE="0 0 0 1 1 *",
        MONITORED_SCHEDULE="0 0 0 1 1 *",
        # host.json's singleton section, at the shortest the host accepts.
        AzureFunctionsJobHost__singleton__listenerLockPeriod="00:00:15",
        AzureFunctionsJobHost__singleton__listenerLockRecoveryPollingInterval="00:00:15",
    )  # fmt: skip
    runner = start_runner(TIMER_APP, env, "--workers", "2", use_example=False)
    records.wait_for(lambda r: len([x for x in r if x["function"] == "tick_done"]) >= 2, timeout=30)
    holder = records.where("tick_start")[0]["pid"]

    # No HTTP request until it resumes: it may be the frozen worker that accepts it.
    os.kill(holder, signal.SIGSTOP)
    try:
        # The other worker polls every 15 s; the holder's lease lapses within 15 s.
        wait_until(lambda: any(r["pid"] != holder for r in records.where("tick_start")), timeout=45)
    finally:
        os.kill(holder, signal.SIGCONT)
    resumed = time.time()
    successor = next(r["pid"] for r in records.where("tick_start") if r["pid"] != holder)

    wait_until(lambda: "singleton lock renewal failed with 409" in runner.log(), timeout=20)
    stood_down = time.time()
    records.wait_for(lambda r: len([x for x in r if x["function"] == "tick_start" and x["t"] > stood_down]) >= 3,
                     timeout=20)  # fmt: skip
    # After resuming, the holder may finish the run it was frozen in, but starts none.
    assert {r["pid"] for r in records.where("tick_start") if r["t"] > resumed} == {successor}
    assert "stopped after losing the singleton lock" in runner.log()
    os.kill(holder, 0)  # alive: only its timer stopped (the host would restart itself)
    # The successor's runs do not overlap either.
    mine = [r for r in records.all() if r["pid"] == successor and r["function"].startswith("tick")]
    assert [r["function"] for r in mine[: len(mine) // 2 * 2]] == ["tick_start", "tick_done"] * (len(mine) // 2)
    assert requests.get(runner.url("/api/ping"), timeout=5).text == "pong"
    assert runner.stop() == 0
