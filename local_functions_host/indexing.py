"""Find the app's functions the way the Python worker indexes them.

Imports the script file (``function_app.py``, or ``PYTHON_SCRIPT_FILE_NAME``) from the
app folder, takes its ``FunctionApp`` and calls ``get_functions()`` once (a second call
raises). Every trigger property is read from the indexed functions, ``%NAME%``
expressions resolved: there is no route or queue table to keep in step by hand.

A function whose trigger names a setting that is not set (``%NAME%`` unresolved, a
missing connection) or resolves to an invalid queue name is *in error*, as in the
host ("Error indexing method 'Functions.x'"): it is left out and reported, and the
other functions run. Functions whose triggers or bindings the runner cannot emulate
stop the start with a clear message rather than being skipped silently.
"""
from __future__ import annotations

import importlib.util
import inspect
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .appsettings import resolve
from .schedule import ConstantSchedule, CronSchedule, ScheduleError, parse_schedule

DEFAULT_SCRIPT = "function_app.py"
DEFAULT_CONNECTION = "AzureWebJobsStorage"
_QUEUE_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")


class AppIndexError(RuntimeError):
    """The app cannot be indexed or uses something the runner does not emulate."""


class FunctionIndexError(ValueError):
    """One function cannot be indexed (the host puts that function in error)."""


@dataclass
class IndexedFunction:
    name: str
    arg_name: str
    handler: Callable[..., Any]
    is_async: bool
    wants_context: bool


@dataclass
class HttpFunction(IndexedFunction):
    route: str = ""  # template without the route prefix
    methods: frozenset[str] | None = None  # None: every method
    auth_level: str = "function"  # reported; not enforced locally (as in Core Tools)


@dataclass
class QueueFunction(IndexedFunction):
    queue_name: str = ""
    connection_setting: str = DEFAULT_CONNECTION
    connection_string: str = field(default="", repr=False)  # a secret: never log it


@dataclass
class TimerFunction(IndexedFunction):
    """A ``timerTrigger``: its resolved schedule, and the host storage that holds its
    singleton lock and schedule status (AzureWebJobsStorage, as in the host)."""

    schedule: CronSchedule | ConstantSchedule | None = None
    run_on_startup: bool = False
    use_monitor: bool = True  # after the extension turned it off for sub-minute schedules
    connection_string: str = field(default="", repr=False)  # a secret: never log it


def load_app(app_dir: Path, env: Mapping[str, str] | None = None) -> Any:
    """Import the app's script file and return its FunctionApp instance."""
    from azure.functions import FunctionRegister

    env = os.environ if env is None else env
    script = app_dir / env.get("PYTHON_SCRIPT_FILE_NAME", DEFAULT_SCRIPT)
    if not script.is_file():
        raise AppIndexError(f"{script} does not exist: is --app-dir the folder holding function_app.py?")
    if str(app_dir) not in sys.path:
        sys.path.insert(0, str(app_dir))
    spec = importlib.util.spec_from_file_location(script.stem, script)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[script.stem] = module
    spec.loader.exec_module(module)
    apps = {id(v): v for v in vars(module).values() if isinstance(v, FunctionRegister)}
    if not apps:
        raise AppIndexError(f"{script.name} defines no FunctionApp instance (app = func.FunctionApp(...))")
    if len(apps) > 1:
        raise AppIndexError(f"{script.name} defines {len(apps)} FunctionApp instances; the host indexes exactly one")
    return next(iter(apps.values()))


@dataclass
class IndexResult:
    functions: list[IndexedFunction]
    errors: dict[str, str] = field(default_factory=dict)  # function name -> why it is in error


def index_functions(app: Any, env: Mapping[str, str] | None = None) -> IndexResult:
    """The app's HTTP, queue and timer functions, and the functions in error. Calls
    ``app.get_functions()`` (once!)."""
    env = os.environ if env is None else env
    indexed: list[IndexedFunction] = []
    errors: dict[str, str] = {}
    for function in app.get_functions():
        name = function.get_function_name()
        trigger = function.get_trigger()
        kind = trigger.get_binding_name() if trigger is not None else None
        handler = function.get_user_function()
        _check_bindings(name, kind, function.get_bindings())
        common = {
            "name": name,
            "arg_name": trigger.name,
            "handler": handler,
            "is_async": inspect.iscoroutinefunction(handler),
            "wants_context": "context" in inspect.signature(handler).parameters,
        }
        try:
            if kind == "httpTrigger":
                indexed.append(_http_function(common, trigger, env))
            elif kind == "queueTrigger":
                indexed.append(_queue_function(common, trigger, env))
            elif kind == "timerTrigger":
                indexed.append(_timer_function(common, trigger, env))
            else:
                raise AppIndexError(
                    f"function {name}: trigger {kind!r} is not emulated by the runner "
                    "(it runs httpTrigger, queueTrigger and timerTrigger); use Core Tools (func start) for it"
                )
        except ValueError as error:  # UnresolvedSetting, FunctionIndexError: this function only
            errors[name] = f"Error indexing method 'Functions.{name}': {error}"
    return IndexResult(indexed, errors)


def _check_bindings(name: str, trigger_kind: str | None, bindings: list[Any]) -> None:
    for binding in bindings:
        kind = binding.get_binding_name()
        if kind == trigger_kind or (kind == "http" and trigger_kind == "httpTrigger"):
            continue
        raise AppIndexError(
            f"function {name}: binding {kind!r} ({binding.name}) is not emulated by the runner; "
            "use the SDK in the function body, or run the app with Core Tools (func start)"
        )


def _text(value: Any) -> str:
    return str(getattr(value, "value", value))


def _http_function(common: dict[str, Any], trigger: Any, env: Mapping[str, str]) -> HttpFunction:
    route = resolve(trigger.route if trigger.route is not None else common["name"], env)
    methods = frozenset(_text(m).upper() for m in trigger.methods) if trigger.methods else None
    auth = _text(trigger.auth_level).lower() if trigger.auth_level is not None else "function"
    return HttpFunction(**common, route=route, methods=methods, auth_level=auth)


def _queue_function(common: dict[str, Any], trigger: Any, env: Mapping[str, str]) -> QueueFunction:
    queue = resolve(trigger.queue_name or "", env)
    if not _QUEUE_NAME.match(queue):
        raise FunctionIndexError(
            f"queue name {queue!r} is invalid (3-63 lowercase letters, digits, single dashes)"
        )
    setting = resolve(trigger.connection or DEFAULT_CONNECTION, env)
    value = env.get(setting) or env.get(f"AzureWebJobs{setting}")
    if not value:
        if env.get(f"{setting}__queueServiceUri") or env.get(f"{setting}__serviceUri"):
            raise AppIndexError(
                f"function {common['name']}: identity-based connection {setting}__* is not emulated; "
                "give the runner a connection string"
            )
        raise FunctionIndexError(
            f"connection setting {setting} is not set: set it in local.settings.json or the environment"
        )
    return QueueFunction(**common, queue_name=queue, connection_setting=setting, connection_string=value)


def _timer_function(common: dict[str, Any], trigger: Any, env: Mapping[str, str]) -> TimerFunction:
    """``schedule`` resolved as a whole (``%NAME%``) and parsed as the extension's
    ``TimerSchedule.Create`` does; ``use_monitor`` (default true) is turned off for a
    schedule that fires more than once a minute, as the extension does."""
    expression = resolve(str(trigger.schedule or ""), env)
    try:
        schedule = parse_schedule(expression)
    except ScheduleError as error:
        raise FunctionIndexError(str(error)) from None
    value = env.get(DEFAULT_CONNECTION)
    if not value:
        raise FunctionIndexError(
            f"{DEFAULT_CONNECTION} is not set: timer triggers keep their singleton lock and schedule status in "
            "host storage; set it in local.settings.json or the environment"
        )
    use_monitor = getattr(trigger, "use_monitor", None)
    return TimerFunction(
        **common,
        schedule=schedule,
        run_on_startup=bool(getattr(trigger, "run_on_startup", None)),
        use_monitor=(True if use_monitor is None else bool(use_monitor)) and not schedule.sub_minute,
        connection_string=value,
    )
