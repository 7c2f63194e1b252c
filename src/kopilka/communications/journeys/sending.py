"""A send step for a batch of visits: one INSERT … SELECT writes every member's message to the outbox, decided by
the rules every marketing message follows (`communications.rules_sql`, as `services.notify` applies them one by one):

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
from datetime import datetime

from django.db import connection

from kopilka.communications import rules, rules_sql, services
from kopilka.communications.journeys import rows
from kopilka.communications.journeys.models import MESSAGE_KIND
from kopilka.communications.message_templates import get_template, relevance_end
from kopilka.communications.models import Message, MessageTemplate
from kopilka.core import sql
from kopilka.customers.models import Member, Region

_MESSAGES, _MEMBERS, _REGIONS = Message._meta.db_table, Member._meta.db_table, Region._meta.db_table


def template_for(code: str) -> MessageTemplate:
    """The send step's template; a marketing e-mail needs the programme's public address for its unsubscribe
    link."""
    template = get_template(code)
    services.check_public_url(template.channel, Message.Purpose.MARKETING)
    return template


def write_messages(visits: Sequence[tuple[int, int]], step_id: str, template: MessageTemplate, now: datetime) -> int:
    """The messages of the visits (id, member id) at the send step `step_id`; returns how many were written."""
    if not visits:
        return 0
    if connection.vendor == "postgresql":
        rows.write(f"SELECT id FROM {_MEMBERS} WHERE {rows.in_ids('id')} ORDER BY id FOR NO KEY UPDATE",
                   [rows.ids(sorted({member_id for _visit, member_id in visits}))])
    channel = template.channel
    reason, reason_params = rules_sql.marketing_reason(channel, now)
    quiet, quiet_params = rules_sql.quiet_until(now)
    relevant_until = relevance_end(template, now)
    late = f"'{rules.TOO_LATE}'" if rules.too_late(now, relevant_until) else "NULL"
    decided = f"""
        SELECT s.id AS state_id, s.member_id AS member_id, {rules_sql.address(channel)} AS address,
               COALESCE({reason}, {late}) AS reason, {quiet} AS quiet
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
        *reason_params, *quiet_params, *rows.visit_rows_params(visits),
    ])

