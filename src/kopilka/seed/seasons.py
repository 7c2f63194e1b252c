"""When the bulk data set's receipts happen: a weight for each calendar day, and a lookup table that turns a uniform
number into a day drawn with those weights (inverse transform sampling), so SQL draws the days of millions of
receipts with one array subscript each. Pure: no database.

- the week: clinics and doctors order on working days, less on Saturday, least on Sunday;
- the season: a spring peak and a summer trough (±20 %), more in the weeks before New Year, little in the
  January holidays.
Invariant: a day's share of the lookup table's slots is its share of the total weight, to within one slot.
"""

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

WEEKDAY = (1.10, 1.15, 1.15, 1.10, 1.00, 0.55, 0.35)  # Monday first
SEASON_AMPLITUDE = 0.2
SEASON_PEAK_DAY = 75  # day of the year (mid-March)
SLOTS = 100_000


def day_weight(day: date) -> float:
    """The relative number of receipts on `day` (1 is an ordinary weekday in an average season)."""
    season = 1 + SEASON_AMPLITUDE * math.cos(2 * math.pi * (day.timetuple().tm_yday - SEASON_PEAK_DAY) / 365.25)
    if day.month == 1 and day.day <= 8:
        season *= 0.3
    elif day.month == 12 and 10 <= day.day <= 28:
        season *= 1.25
    return WEEKDAY[day.weekday()] * season


@dataclass(frozen=True)
class Calendar:
    """Days `first` .. `first + days - 1`, by offset from `first`.

    `before[i]`: the share of all weight on the days before day i (before[0] = 0, before[days] = 1);
    `slots[k]`: the day a uniform number in [k / len(slots), (k + 1) / len(slots)) falls on."""

    first: date
    days: int
    before: list[float]
    slots: list[int]


def calendar(first: date, last: date, slots: int = SLOTS) -> Calendar:
    """The lookup table for the days from `first` to `last` inclusive."""
    days = (last - first).days + 1
    if days < 1:
        raise ValueError("last must not be before first")
    weights = np.array([day_weight(first + timedelta(days=i)) for i in range(days)])
    before = np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum()
    before[-1] = 1.0
    middles = (np.arange(slots) + 0.5) / slots
    found = np.searchsorted(before, middles, side="right") - 1
    return Calendar(first, days, before.tolist(), np.clip(found, 0, days - 1).astype(int).tolist())
