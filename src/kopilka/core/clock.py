"""The one source of "now", and the programme's time zone for calendar questions (end of day, expiry dates)."""

import calendar
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from kopilka.core import programme


def now() -> datetime:
    return timezone.now()


def programme_tz() -> ZoneInfo:
    return ZoneInfo(programme.value("TIME_ZONE"))


def local_date(moment: datetime) -> date:
    """The calendar date of an aware moment in the programme's time zone."""
    return moment.astimezone(programme_tz()).date()


def start_of_day(day: date) -> datetime:
    """Midnight that starts `day` in the programme's time zone, as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=programme_tz())


def end_of_day(day: date) -> datetime:
    """The first instant after `day` in the programme's time zone: points "valid until 31.03" burn at this moment."""
    return start_of_day(day + timedelta(days=1))


def make_aware(moment: datetime) -> datetime:
    """Naive datetimes from users and files are read in the programme's time zone."""
    if timezone.is_aware(moment):
        return moment
    return moment.replace(tzinfo=programme_tz())


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later; a day the target month lacks becomes its last day (31.01 + 1 → 28.02)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def last_day_of_month(day: date, months_later: int = 0) -> date:
    """The last day of the month `months_later` months after `day`'s month."""
    index = day.month - 1 + months_later
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, calendar.monthrange(year, month)[1])
