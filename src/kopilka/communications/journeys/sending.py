"""A send step for a batch of visits: one INSERT … SELECT writes every member's message to the outbox, decided by
the rules every marketing message follows (`communications.rules`, as `services.notify` applies them one by one):

- an address on the template's channel (an SMS needs a phone in international form), else skipped (no address,
  not a phone);
- consent to the channel in force (the newest decision), else skipped (no consent, unsubscribed);
- room under the frequency cap (marketing messages queued, sent or delivered on the channel within the cap's days),
  else skipped (frequency cap);
- in quiet hours on the member's clock (their region's time zone, else the programme's), queued until they end;
- the template's relevance window counted from the step (`relevant_until`): the sender skips a message still
  waiting when it ends (too late), and one with no window left is recorded too late at once.

The members are locked first (PostgreSQL: FOR NO KEY UPDATE, by id), as `notify` locks its one member, so that a
message recorded elsewhere at the same moment is counted against the cap one after the other. A message is written
without its text: the sender fills it from the template right before the first try (`texts.fill`), so writing costs
no rendering per member. Its source (`message_source`) is unique, so a step can never write a member's message
twice.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.utils.translation import gettext as _

from kopilka.communications import rules, services
from kopilka.communications.journeys import rows
from kopilka.communications.journeys.models import MESSAGE_KIND
from kopilka.communications.message_templates import get_template, relevance_end
from kopilka.communications.models import Message, MessageTemplate
from kopilka.core import clock, programme, sql
from kopilka.core.errors import ValidationFailed
from kopilka.customers.models import Consent, Member, Region

_MESSAGES, _MEMBERS = Message._meta.db_table, Member._meta.db_table
_CONSENTS, _REGIONS = Consent._meta.db_table, Region._meta.db_table
_COUNTED = ", ".join(f"'{status}'" for status in services.COUNTED)


def template_for(code: str) -> MessageTemplate:
    """The send step's template; a marketing e-mail needs the programme's public address for its unsubscribe
    link."""
    template = get_template(code)
    if template.channel == Message.Channel.EMAIL and not programme.value("PUBLIC_URL"):
        raise ValidationFailed(
            _("Marketing e-mail carries an unsubscribe link: set the platform's public address first "
              "(channel settings, or KOPILKA_PUBLIC_URL)."), code="public_url_missing")
    return template


def write_messages(visits: Sequence[tuple[int, int]], step_id: str, template: MessageTemplate, now: datetime) -> int:
    """The messages of the visits (id, member id) at the send step `step_id`; returns how many were written."""
    if not visits:
        return 0
    if connection.vendor == "postgresql":
        rows.write(f"SELECT id FROM {_MEMBERS} WHERE {rows.in_ids('id')} ORDER BY id FOR NO KEY UPDATE",
                   [rows.ids(sorted({member_id for _visit, member_id in visits}))])
    channel = template.channel
    if channel == Message.Channel.EMAIL:
        address, no_address = "m.email", "CASE WHEN m.email = '' THEN 'no_address' END"
    else:
        address = "m.phone"
        no_address = "CASE WHEN m.phone = '' THEN 'no_address' WHEN m.phone NOT LIKE '+%%' THEN 'not_a_phone' END"
    quiet, quiet_params = _quiet_until(now)
    relevant_until = relevance_end(template, now)
    too_late = f", '{rules.TOO_LATE}'" if rules.too_late(now, relevant_until) else ""
    cap_since = now - timedelta(days=programme.value("MARKETING_CAP_DAYS"))
    decided = f"""
        SELECT s.id AS state_id, s.member_id AS member_id, {address} AS address,
               COALESCE({no_address},
                        CASE WHEN m.status = 'deleted' THEN 'member_erased' END,
                        CASE (SELECT CASE WHEN c.granted THEN 1 ELSE 0 END FROM {_CONSENTS} c
                              WHERE c.member_id = m.id AND c.channel = %s
                              ORDER BY c.decided_at DESC, c.id DESC LIMIT 1)
                             WHEN 1 THEN NULL WHEN 0 THEN '{rules.UNSUBSCRIBED}' ELSE '{rules.NO_CONSENT}' END,
                        CASE WHEN (SELECT COUNT(*) FROM {_MESSAGES} x
                                   WHERE x.member_id = m.id AND x.channel = %s AND x.purpose = 'marketing'
                                     AND x.status IN ({_COUNTED}) AND x.created_at > %s) >= %s
                             THEN '{rules.FREQUENCY_CAP}' END{too_late}) AS reason,
               {quiet} AS quiet
        FROM ({rows.visit_rows()}) s JOIN {_MEMBERS} m ON m.id = s.member_id
             LEFT JOIN {_REGIONS} r ON r.id = m.region_id
        WHERE 1 = 1{rows.kept_apart()}
    """
    statement = f"""
        INSERT INTO {_MESSAGES} (member_id, channel, purpose, kind, source, "to", subject, body, status, skip_reason,
                                 attempts, error, created_at, provider_id, unsubscribe_url, uid, leased_by, next_try_at,
                                 relevant_until)
        SELECT d.member_id, %s, 'marketing', %s, {rows.concat("'journey:'", "d.state_id", "':'", "%s")}, d.address,
               '', '', CASE WHEN d.reason IS NULL THEN 'queued' ELSE 'skipped' END, COALESCE(d.reason, ''),
               0, '', %s, '', '', {rows.new_uuid()}, '', CASE WHEN d.reason IS NULL THEN d.quiet END, %s
        FROM ({decided}) d
    """
    return rows.write(statement, [
        channel, MESSAGE_KIND, step_id, sql.at(now), None if relevant_until is None else sql.at(relevant_until),
        channel, channel, sql.at(cap_since), programme.value("MARKETING_CAP_MESSAGES"), *quiet_params,
        *rows.visit_rows_params(visits),
    ])


def _quiet_until(now: datetime) -> tuple[str, list]:
    """SQL for the end of the quiet hours the member is in at `now` (NULL: none), by their region's time zone;
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
