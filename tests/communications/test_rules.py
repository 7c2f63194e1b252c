"""The delivery rules without a database: quiet hours read on the member's clock, the frequency cap, consent."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from kopilka.communications import rules
from kopilka.core.programme import quiet_hours_window

MOSCOW, VLADIVOSTOK = ZoneInfo("Europe/Moscow"), ZoneInfo("Asia/Vladivostok")
NIGHT = (time(21), time(9))


@pytest.mark.parametrize(("local", "until"), [
    (datetime(2026, 6, 1, 22, 30), datetime(2026, 6, 2, 9, 0)),
    (datetime(2026, 6, 1, 21, 0), datetime(2026, 6, 2, 9, 0)),
    (datetime(2026, 6, 2, 3, 15), datetime(2026, 6, 2, 9, 0)),
    (datetime(2026, 6, 2, 8, 59), datetime(2026, 6, 2, 9, 0)),
    (datetime(2026, 6, 2, 9, 0), None),
    (datetime(2026, 6, 2, 20, 59), None),
])
def test_a_moment_in_the_night_window_waits_until_the_morning(local, until):
    moment = local.replace(tzinfo=MOSCOW)
    expected = until.replace(tzinfo=MOSCOW) if until else None
    assert rules.quiet_until(moment, MOSCOW, NIGHT) == expected


def test_the_window_is_read_on_the_members_clock():
    """20:00 in Moscow is 03:00 in Vladivostok: a member there waits until 09:00 their time (02:00 in Moscow)."""
    moment = datetime(2026, 6, 1, 20, 0, tzinfo=MOSCOW)
    assert rules.quiet_until(moment, MOSCOW, NIGHT) is None
    assert rules.quiet_until(moment, VLADIVOSTOK, NIGHT) == datetime(2026, 6, 2, 9, 0, tzinfo=VLADIVOSTOK)
    assert rules.quiet_until(moment, VLADIVOSTOK, NIGHT) == datetime(2026, 6, 2, 2, 0, tzinfo=MOSCOW)


def test_a_window_within_one_day_and_no_window():
    lunch = (time(13), time(14, 30))
    assert rules.quiet_until(datetime(2026, 6, 1, 13, 45, tzinfo=MOSCOW), MOSCOW, lunch) == datetime(
        2026, 6, 1, 14, 30, tzinfo=MOSCOW)
    assert rules.quiet_until(datetime(2026, 6, 1, 12, 0, tzinfo=MOSCOW), MOSCOW, lunch) is None
    assert rules.quiet_until(datetime(2026, 6, 1, 23, 0, tzinfo=MOSCOW), MOSCOW, None) is None


@pytest.mark.parametrize(("text", "window"), [
    ("21:00-09:00", NIGHT), ("21:00 – 09:00", NIGHT), ("00:00-00:00", None), ("", None), ("25:00-09:00", None),
])
def test_quiet_hours_are_written_as_two_times_of_day(text, window):
    assert quiet_hours_window(text) == window


def test_the_cap_and_the_consent():
    assert [rules.cap_reason(counted, 3) for counted in (0, 2, 3, 4)] == [None, None, "frequency_cap",
                                                                          "frequency_cap"]
    assert [rules.consent_reason(given) for given in (True, False, None)] == [None, "unsubscribed", "no_consent"]
