"""A test-only app with timer triggers: each call appends one JSON line to the file
named by RUNNER_TEST_RECORDS. Schedules come from settings (``%NAME%``)."""
import json
import os
import time

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def record(function: str, timer: func.TimerRequest, **extra) -> None:
    line = {"function": function, "past_due": timer.past_due, "status": timer.schedule_status,
            "schedule": timer.schedule, "pid": os.getpid(), "t": time.time(), **extra}
    with open(os.environ["RUNNER_TEST_RECORDS"], "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


@app.timer_trigger(schedule="%TICK_SCHEDULE%", arg_name="timer")
def tick(timer: func.TimerRequest) -> None:
    """Takes TICK_SECONDS (default 0) so that overlapping would show."""
    record("tick_start", timer)
    time.sleep(float(os.environ.get("TICK_SECONDS", "0")))
    record("tick_done", timer)


@app.timer_trigger(schedule="%DAILY_SCHEDULE%", arg_name="timer", run_on_startup=True)
def daily(timer: func.TimerRequest) -> None:
    record("daily", timer)


@app.timer_trigger(schedule="%MONITORED_SCHEDULE%", arg_name="timer")
def monitored(timer: func.TimerRequest) -> None:
    record("monitored", timer)


@app.route(route="ping", methods=["GET"])
def ping(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("pong")
