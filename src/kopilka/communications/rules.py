"""The delivery rules, decided without I/O: whether a message may go to a member on a channel at all, and when.

- Consent: every message on a channel needs the member's consent to that channel in force (SPEC §1.2); none
  recorded is `no_consent`, a withdrawal in force is `unsubscribed`.
- Frequency cap: a member gets at most N marketing messages per channel in M days (programme settings); the
  ones queued, sent or delivered in that period count, skipped and failed ones do not. Transactional messages
  are never capped and do not count.
- Relevance: a message made with a relevance window (`MessageTemplate.relevance_hours`) carries the moment it
  stops being worth sending; at or past it, it is `too_late`, never sent.
- Quiet hours (a programme setting such as 21:00-09:00, read in the member's time zone): a marketing message due
  inside them waits until they end, it is not skipped. Transactional messages — a notice of what happened to the
  member's own points or purchase — go at once, at any hour.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

NO_CONSENT = "no_consent"
UNSUBSCRIBED = "unsubscribed"
FREQUENCY_CAP = "frequency_cap"
TOO_LATE = "too_late"


def consent_reason(granted: bool | None) -> str | None:
    """Why a message may not go for the consent in force (`granted`: None when the member never decided)."""
    if granted is None:
        return NO_CONSENT
    return None if granted else UNSUBSCRIBED


def too_late(now: datetime, relevant_until: datetime | None) -> bool:
    """Whether a message relevant until `relevant_until` (None: always) is too late to send at `now`."""
    return relevant_until is not None and now >= relevant_until


def cap_reason(counted: int, cap: int) -> str | None:
    """`counted` marketing messages already in the cap's period: one more is over a cap of `cap`."""
    return FREQUENCY_CAP if counted >= cap else None


def quiet_until(moment: datetime, zone: ZoneInfo, window: tuple[time, time] | None) -> datetime | None:
    """The end of the quiet hours `window` (start, end; an end before the start runs past midnight) that
    `moment` falls in, as read on a clock in `zone`; None when it falls outside them or there are none. The start
    is inside the window, the end is not."""
    if window is None:
        return None
    start, end = window
    local = moment.astimezone(zone)
    at = local.time().replace(tzinfo=None)
    overnight = end < start
    inside = (at >= start or at < end) if overnight else (start <= at < end)
    if not inside:
        return None
    day = local.date() + timedelta(days=1) if overnight and at >= start else local.date()
    return datetime.combine(day, end, tzinfo=zone)
