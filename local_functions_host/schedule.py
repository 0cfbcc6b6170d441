"""Timer schedules as the WebJobs extension reads them (``TimerSchedule.Create``).

An expression (after ``%NAME%`` resolution) is first tried as NCRONTAB: 6 fields
``{second} {minute} {hour} {day} {month} {day-of-week}``, or 5 without the seconds
(the extension's ``CronSchedule.HasSeconds``: any count but 5 means seconds), then as a
.NET ``TimeSpan`` (``[d.]hh:mm[:ss[.fffffff]]`` or a whole number of days), which
repeats that period. Anything else is the extension's error "The schedule expression
'…' was not recognized as a valid cron expression or timespan string."

Occurrences are computed by ``croniter`` (pinned in requirements-dev.txt) with the
seconds field first (``second_at_beginning``) and ``day_or=False``: NCrontab's
``GetNextOccurrence`` requires *both* the day-of-month and the day-of-week fields to
match, where Vixie cron (croniter's default) accepts either. croniter's extensions that
NCrontab rejects (``L``, ``W``, ``#``, ``?``, ``H``, ``@daily``, a year field) are refused
here too. Times are UTC (aware datetimes); the host uses the machine's local time zone,
which is UTC in Azure unless ``WEBSITE_TIME_ZONE``/``TZ`` says otherwise.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from croniter import croniter

_UNSUPPORTED = re.compile(r"[LW#?H@]", re.IGNORECASE)
# Names NCrontab accepts: months and days of week (case-insensitive, three letters).
_NAMES = re.compile(r"(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC|SUN|MON|TUE|WED|THU|FRI|SAT)", re.IGNORECASE)
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?$")
_DAYS = re.compile(r"^\d+$")


class ScheduleError(ValueError):
    """The expression is neither NCRONTAB nor a TimeSpan (the extension's wording)."""


class Schedule(Protocol):
    expression: str

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after ``moment`` (aware, UTC)."""

    @property
    def sub_minute(self) -> bool:
        """True when occurrences can be less than a minute apart: the extension then
        turns the schedule monitor off (``ShouldDisableScheduleMonitor``)."""


@dataclass(frozen=True)
class CronSchedule:
    expression: str
    has_seconds: bool

    def next_after(self, moment: datetime) -> datetime:
        start = moment.astimezone(UTC)
        if not self.has_seconds:  # NCrontab without seconds: occurrences at second 0
            text = "0 " + self.expression
        else:
            text = self.expression
        return croniter(text, start, day_or=False, second_at_beginning=True).get_next(datetime)

    @property
    def sub_minute(self) -> bool:
        fields = self.expression.split()
        if not self.has_seconds or any(f != "*" for f in fields[1:]):
            return False
        now = datetime.now(UTC)
        first = self.next_after(now)
        return self.next_after(first) - first < timedelta(minutes=1)


@dataclass(frozen=True)
class ConstantSchedule:
    expression: str
    period: timedelta

    def next_after(self, moment: datetime) -> datetime:
        return moment.astimezone(UTC) + self.period

    @property
    def sub_minute(self) -> bool:
        return self.period < timedelta(minutes=1)


def parse_schedule(expression: str) -> Schedule:
    """The schedule ``expression`` (already resolved) describes; raises ScheduleError."""
    text = " ".join(expression.split())
    cron = _cron(text)
    if cron is not None:
        return cron
    period = _timespan(text)
    if period is not None and period > timedelta(0):
        return ConstantSchedule(text, period)
    raise ScheduleError(
        f"The schedule expression '{expression}' was not recognized as a valid cron expression or timespan string."
    )


def _cron(text: str) -> CronSchedule | None:
    fields = text.split(" ")
    if len(fields) not in (5, 6) or _UNSUPPORTED.search(_NAMES.sub("", text)):
        return None
    has_seconds = len(fields) == 6
    candidate = text if has_seconds else "0 " + text
    if not croniter.is_valid(candidate, second_at_beginning=True):
        return None
    return CronSchedule(text, has_seconds)


def _timespan(text: str) -> timedelta | None:
    """.NET ``TimeSpan.TryParse`` (invariant culture) for the forms a schedule uses."""
    if _DAYS.match(text):
        return timedelta(days=int(text))
    match = _TIMESPAN.match(text)
    if not match:
        return None
    days, hours, minutes, seconds, fraction = match.groups()
    if int(hours) > 23 or int(minutes) > 59 or int(seconds or 0) > 59:
        return None
    return timedelta(
        days=int(days or 0), hours=int(hours), minutes=int(minutes), seconds=int(seconds or 0),
        microseconds=int((fraction or "0").ljust(7, "0")) // 10,
    )  # fmt: skip


def next_occurrences(schedule: CronSchedule | ConstantSchedule, start: datetime, count: int) -> list[datetime]:
    """The next ``count`` occurrences after ``start`` (the host logs the next 5)."""
    found, moment = [], start
    for _ in range(count):
        moment = schedule.next_after(moment)
        found.append(moment)
    return found
