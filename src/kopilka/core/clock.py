"""The one source of "now", and the programme's time zone for calendar questions (end of day, expiry dates)."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def now() -> datetime:
    return timezone.now()


def programme_tz() -> ZoneInfo:
    return ZoneInfo(settings.KOPILKA["TIME_ZONE"])


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
