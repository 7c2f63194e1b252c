"""The delivery rules of a marketing message (`rules`) as SQL, for the outbox's messages written set-based (a
journey's send step, a campaign's notices): one statement decides every member's message as `services.notify`
decides one.

Over the member `m` and their region `r` (LEFT JOINed), on a channel, at a moment:
- `address`: the member's address on the channel;
- `marketing_reason`: why the message may not go, the first that holds of — no address (an SMS also needs a phone
  in international form: not a phone), the member erased, no consent in force or unsubscribed (the newest decision
  on the channel), the frequency cap (marketing messages queued, sent or delivered on the channel within the cap's
  days); NULL when it may go;
- `quiet_until`: the end of the quiet hours the member is in, on their region's clock (else the programme's); NULL
  outside them.
Each fragment comes with its parameters, in order, for a statement run with `%s` placeholders.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection

from kopilka.communications import rules, services
from kopilka.communications.models import Message
from kopilka.core import clock, programme, sql
from kopilka.customers.models import Consent, Member, Region

_MESSAGES, _CONSENTS = Message._meta.db_table, Consent._meta.db_table
_COUNTED = ", ".join(f"'{status}'" for status in services.COUNTED)


def address(channel: str) -> str:
    return "m.email" if channel == Message.Channel.EMAIL else "m.phone"


def marketing_reason(channel: str, now: datetime) -> tuple[str, list]:
    """SQL for the skip reason of a marketing message to `m` on `channel` at `now` (NULL: it may go)."""
    if channel == Message.Channel.EMAIL:
        no_address = f"CASE WHEN m.email = '' THEN '{Message.SkipReason.NO_ADDRESS.value}' END"
    else:
        no_address = (f"CASE WHEN m.phone = '' THEN '{Message.SkipReason.NO_ADDRESS.value}'"
                      f" WHEN m.phone NOT LIKE '+%%' THEN '{Message.SkipReason.NOT_A_PHONE.value}' END")
    reason = f"""
        COALESCE({no_address},
                 CASE WHEN m.status = '{Member.Status.DELETED.value}'
                      THEN '{Message.SkipReason.MEMBER_ERASED.value}' END,
                 CASE (SELECT CASE WHEN c.granted THEN 1 ELSE 0 END FROM {_CONSENTS} c
                       WHERE c.member_id = m.id AND c.channel = %s
                       ORDER BY c.decided_at DESC, c.id DESC LIMIT 1)
                      WHEN 1 THEN NULL WHEN 0 THEN '{rules.UNSUBSCRIBED}' ELSE '{rules.NO_CONSENT}' END,
                 CASE WHEN (SELECT COUNT(*) FROM {_MESSAGES} x
                            WHERE x.member_id = m.id AND x.channel = %s AND x.purpose = 'marketing'
                              AND x.status IN ({_COUNTED}) AND x.created_at > %s) >= %s
                      THEN '{rules.FREQUENCY_CAP}' END)"""
    since = now - timedelta(days=programme.value("MARKETING_CAP_DAYS"))
    return reason, [channel, channel, sql.at(since), programme.value("MARKETING_CAP_MESSAGES")]


def quiet_until(now: datetime) -> tuple[str, list]:
    """SQL for the end of the quiet hours `m` is in at `now` (NULL: none), by the time zone of their region `r`;
    worked out in Python once per time zone."""
    nothing = "CAST(NULL AS timestamp with time zone)" if connection.vendor == "postgresql" else "NULL"
    window = programme.quiet_hours_window(programme.value("QUIET_HOURS"))
    if window is None:
        return nothing, []
    default = clock.programme_tz().key
    zones = {default, *Region.objects.exclude(time_zone="").values_list("time_zone", flat=True).distinct()}
    ends = {zone: rules.quiet_until(now, ZoneInfo(zone), window) for zone in sorted(zones)}
    ends = {zone: end for zone, end in ends.items() if end is not None}
    if not ends:
        return nothing, []
    cases = " ".join("WHEN %s THEN %s" for _zone in ends)
    params: list = [default]
    for zone, end in ends.items():
        params += [zone, sql.at(end)]
    return f"(CASE COALESCE(NULLIF(r.time_zone, ''), %s) {cases} END)", params
