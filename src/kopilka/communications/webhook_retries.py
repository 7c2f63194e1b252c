"""When a failed webhook delivery is tried again: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h after the tries so far, then
every 10 h, each pause ±20 % at random (so receivers coming back are not hit by every sender at once), for about
three days (`WINDOW`) from the delivery's creation or replay. A `Retry-After` answer (seconds or an HTTP date)
sets the pause instead."""

import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

PAUSES = (timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=5),
          timedelta(hours=10))
JITTER = 0.2
WINDOW = timedelta(hours=72)

_random = random.SystemRandom()


def jitter() -> float:
    """A factor in [1 − JITTER, 1 + JITTER]."""
    return _random.uniform(1 - JITTER, 1 + JITTER)


def pause(tries: int) -> timedelta:
    """The wait after `tries` failed tries (1: the first)."""
    return PAUSES[min(tries, len(PAUSES)) - 1] * jitter()


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """The pause a `Retry-After` header asks for (never negative); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(moment - now, timedelta(0))
