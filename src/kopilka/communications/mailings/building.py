"""Starting and sending mailings, set-based: what the worker does every minute (`advance`).

- Start: a scheduled mailing whose moment has come writes its members down in one INSERT … SELECT — the active
  members its conditions select at that moment, each with the group `audience.group_sql` gives — and is `sending`.
- Build: the variants' members get their outbox messages, CHUNK members per statement (each chunk its own short
  transaction, so a long build shows its progress and a worker that dies resumes where it stopped). One INSERT …
  SELECT decides each message as `services.notify` would for one: skipped with its reason when the member has no
  address, no consent in force (or withdrew it), is erased, or has reached the marketing cap; queued otherwise. The
  queued ones are spread by the send rate: the k-th queued message of the mailing (from 0) is due ⌊k / rate⌋
  minutes after the start (its whole second). The texts are filled right before each send (`filling`), where quiet
  hours (on the member's clock) and consent are checked again by the outbox.
- Finish: a sending mailing with every message written and none queued is `sent`.

On PostgreSQL a chunk locks its members first (the lock `services.notify` takes for one), so a marketing message
recorded for one of them at the same moment is counted against the cap before or after, not beside, these.
"""

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from kopilka.communications.mailings import audience
from kopilka.communications.mailings.models import MESSAGE_KIND, Mailing, MailingRecipient
from kopilka.communications.models import Message
from kopilka.core import clock, programme, sql
from kopilka.customers.models import Consent, Member

CHUNK = 5_000

COUNTED = ("queued", "sent", "delivered")  # against the marketing cap, as `services.COUNTED`

_MEMBER, _CONSENT = Member._meta.db_table, Consent._meta.db_table
_MESSAGE, _RECIPIENT = Message._meta.db_table, MailingRecipient._meta.db_table


def source_prefix(mailing_id: int) -> str:
    """A mailing's message to member M has kind MESSAGE_KIND and source "<prefix><M>"."""
    return f"mailing:{mailing_id}:"


def advance(now: datetime | None = None) -> dict[str, int]:
    """Start the mailings due by `now`, build those started, finish those sent; how many of each."""
    now = now or clock.now()
    due = Mailing.objects.filter(status=Mailing.Status.SCHEDULED, send_at__lte=now).values_list("pk", flat=True)
    started = sum(start(pk, now) for pk in list(due))
    built = 0
    for pk in list(Mailing.objects.filter(status=Mailing.Status.SENDING, built_at__isnull=True)
                   .values_list("pk", flat=True)):
        while (done := build_chunk(pk)) > 0:
            built += done
    return {"started": started, "messages": built, "finished": finish(now)}


def start(mailing_id: int, now: datetime) -> bool:
    """Write the mailing's members down and mark it sending; False when it is not due, another worker has it, or
    it may not start (the reason kept in `problem`, tried again at the next tick)."""
    with transaction.atomic():
        mailing = (Mailing.objects.select_for_update(skip_locked=True)
                   .filter(pk=mailing_id, status=Mailing.Status.SCHEDULED, send_at__lte=now).first())
        if mailing is None:
            return False
        if mailing.channel == Mailing.Channel.EMAIL and not programme.value("PUBLIC_URL"):
            mailing.problem = _("The platform's public address is not set: marketing e-mail needs it.")
            mailing.save(update_fields=["problem"])
            return False
        segment, params = audience.grouped(mailing, now)
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {_RECIPIENT} (mailing_id, member_id, grp) "
                           f"SELECT CAST(%s AS BIGINT), g.id, g.grp FROM ({segment}) g", [mailing.pk, *params])
            written = cursor.rowcount
        mailing.status, mailing.started_at, mailing.audience, mailing.problem = (
            Mailing.Status.SENDING, now, written, "")
        mailing.save(update_fields=["status", "started_at", "audience", "problem"])
    return True


def build_chunk(mailing_id: int) -> int:
    """Write the messages of the next CHUNK members of the mailing's variants; how many were written (0: none
    left, the build is done, or another worker is at it)."""
    with transaction.atomic():
        mailing = (Mailing.objects.select_for_update(skip_locked=True)
                   .filter(pk=mailing_id, status=Mailing.Status.SENDING, built_at__isnull=True).first())
        if mailing is None:
            return 0
        members = list(MailingRecipient.objects.filter(mailing=mailing, group__gte=0, message__isnull=True)
                       .order_by("member_id").values_list("member_id", flat=True)[:CHUNK])
        if not members:
            mailing.built_at = clock.now()
            mailing.save(update_fields=["built_at"])
            return 0
        scope = {"mailing": mailing.pk, "low": members[0], "high": members[-1]}
        within = _chunk("r")
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"SELECT m.id FROM {_MEMBER} m JOIN {_RECIPIENT} r ON r.member_id = m.id "
                               f"WHERE {within} ORDER BY m.id FOR NO KEY UPDATE OF m", scope)
            cursor.execute(_messages_sql(within, mailing), {**scope, **_decision_params(mailing)})
            cursor.execute(f"""
                UPDATE {_RECIPIENT} SET message_id = (
                    SELECT x.id FROM {_MESSAGE} x
                    WHERE x.kind = %(kind)s AND x.source = %(prefix)s || CAST({_RECIPIENT}.member_id AS TEXT))
                WHERE {_chunk(_RECIPIENT)}""",
                           {**scope, "kind": MESSAGE_KIND, "prefix": source_prefix(mailing.pk)})
        queued = MailingRecipient.objects.filter(mailing=mailing, member_id__gte=members[0], member_id__lte=members[-1],
                                                 message__status=Message.Status.QUEUED).count()
        mailing.built += len(members)
        mailing.released += queued
        mailing.save(update_fields=["built", "released"])
    return len(members)


def _chunk(table: str) -> str:
    """SQL true for the recipients of the chunk (their variants' members not yet given a message)."""
    return (f"{table}.mailing_id = %(mailing)s AND {table}.grp >= 0 AND {table}.message_id IS NULL "
            f"AND {table}.member_id BETWEEN %(low)s AND %(high)s")


def _decision_params(mailing: Mailing) -> dict:
    now = clock.now()
    return {
        "channel": mailing.channel, "kind": MESSAGE_KIND, "prefix": source_prefix(mailing.pk), "now": sql.at(now),
        "since": sql.at(now - timedelta(days=programme.value("MARKETING_CAP_DAYS"))),
        "cap": programme.value("MARKETING_CAP_MESSAGES"), "offset": mailing.released,
        "start": sql.at(mailing.started_at.replace(microsecond=0)), "erased": Member.Status.DELETED,
    }


def _messages_sql(within: str, mailing: Mailing) -> str:
    """INSERT … SELECT of the chunk's messages, each decided by the rules (see the module's docstring). The
    address column and the rate are the mailing's own (a fixed column name, an integer), written into the SQL."""
    postgres = connection.vendor == "postgresql"
    uid = "gen_random_uuid()" if postgres else "lower(hex(randomblob(16)))"
    now = "CAST(%(now)s AS TIMESTAMPTZ)" if postgres else "%(now)s"
    counted = ", ".join(f"'{status}'" for status in COUNTED)
    address = "m.email" if mailing.channel == Mailing.Channel.EMAIL else "m.phone"
    decided = f"""
        SELECT r.member_id, {address} AS address,
               CASE WHEN m.status = %(erased)s THEN 'member_erased'
                    WHEN {address} = '' THEN 'no_address'
                    WHEN c.granted IS NULL THEN 'no_consent'
                    WHEN NOT c.granted THEN 'unsubscribed'
                    WHEN (SELECT COUNT(*) FROM {_MESSAGE} x
                          WHERE x.member_id = r.member_id AND x.channel = %(channel)s AND x.purpose = 'marketing'
                            AND x.status IN ({counted}) AND x.created_at > %(since)s) >= %(cap)s
                         THEN 'frequency_cap'
               END AS reason
        FROM {_RECIPIENT} r JOIN {_MEMBER} m ON m.id = r.member_id
        LEFT JOIN {_CONSENT} c ON c.id = (
            SELECT c2.id FROM {_CONSENT} c2 WHERE c2.member_id = r.member_id AND c2.channel = %(channel)s
            ORDER BY c2.decided_at DESC, c2.id DESC LIMIT 1)
        WHERE {within}"""
    ranked = f"""
        SELECT d.*, ROW_NUMBER() OVER (PARTITION BY CASE WHEN d.reason IS NULL THEN 0 ELSE 1 END
                                       ORDER BY d.member_id) - 1 AS k
        FROM ({decided}) d"""
    rate = mailing.rate_per_minute
    if rate is None:
        due = "CAST(NULL AS TIMESTAMPTZ)" if postgres else "NULL"
    elif postgres:
        due = (f"CAST(%(start)s AS TIMESTAMPTZ)"
               f" + ((CAST(%(offset)s AS BIGINT) + q.k) / {int(rate)}) * INTERVAL '1 minute'")
    else:
        due = (f"strftime('%%Y-%%m-%%d %%H:%%M:%%S', %(start)s,"
               f" '+' || ((%(offset)s + q.k) / {int(rate)}) || ' minutes')")
    return f"""
        INSERT INTO {_MESSAGE} (member_id, channel, purpose, kind, source, "to", subject, body, status, skip_reason,
                                attempts, error, created_at, provider_id, unsubscribe_url, uid, leased_by,
                                next_try_at)
        SELECT q.member_id, CAST(%(channel)s AS TEXT), 'marketing', CAST(%(kind)s AS TEXT),
               CAST(%(prefix)s AS TEXT) || CAST(q.member_id AS TEXT), q.address, '', '',
               CASE WHEN q.reason IS NULL THEN 'queued' ELSE 'skipped' END, COALESCE(q.reason, ''), 0, '', {now},
               '', '', {uid}, '', CASE WHEN q.reason IS NULL THEN {due} END
        FROM ({ranked}) q"""


def finish(now: datetime) -> int:
    """Mark sent the mailings with every message written and none queued; how many."""
    queued = MailingRecipient.objects.filter(mailing=OuterRef("pk"), message__status=Message.Status.QUEUED)
    return (Mailing.objects.filter(status=Mailing.Status.SENDING, built_at__isnull=False)
            .exclude(Exists(queued)).update(status=Mailing.Status.SENT, finished_at=now))
