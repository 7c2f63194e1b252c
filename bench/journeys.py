"""Members through a journey's send step on PostgreSQL, next to a bare INSERT … SELECT of the same rows in the same
run.

The crowd: N members, 90 % with e-mail consent in force, 5 % who withdrew it, 5 % who never gave it; a fifth in a
region 7 hours east of Moscow (its quiet hours have begun at the moment of the run), a fifth with two marketing
e-mails in the cap's period (the cap is 3). The programme's control group holds out 5 %, the journey its own 10 %.

A round: a fresh journey (entry at a moment, one send step) goes live; timed is the entry of every member (the
control group and the holdout decided) and the worker's advance through the send step (consent, quiet hours and
the frequency cap decided, one message per exposed member written to the outbox with its log row and the move;
delivery not included). The reference, timed the same way: one bare `INSERT INTO communications_message … SELECT
… FROM customers_member` writing as many rows, with constant values. Both after a CHECKPOINT; what a round wrote
is deleted before the next.

Prints one JSON line:
  members        members in the crowd
  advanced       visits that took the send step in a round (the exposed ones)
  members_per_s  advanced ÷ seconds of entry + advance            (median of the rounds)
  bare_per_s     rows ÷ seconds of the bare INSERT … SELECT       (median of the rounds)
  ratio          bare_per_s ÷ members_per_s                       (goal ≤ 5)
  rounds         [[members_per_s, bare_per_s], ...]

Usage: .venv/bin/python bench/journeys.py [--database-url postgres://postgres@127.0.0.1:5432/kopilka_journeys_bench]
           [--members 100000] [--rounds 3]
The database named is dropped and created anew.
"""

import argparse
import json
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from common import checkpoint, log, recreate_database, setup_django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
MOMENT = datetime(2026, 6, 10, 15, 0, tzinfo=ZoneInfo("Europe/Moscow"))  # 22:00 seven hours east


def crowd(members: int) -> None:
    """The members, their consents, regions and earlier marketing messages, written by set-based SQL."""
    from django.db import connection

    from kopilka.communications.models import Message
    from kopilka.core import sql
    from kopilka.core.models import ProgrammeSettings
    from kopilka.customers.models import Consent, Member, Region

    ProgrammeSettings.objects.update_or_create(pk=ProgrammeSettings.SINGLETON, defaults={
        "public_url": "https://bonus.example.ru", "quiet_hours": "21:00-09:00", "marketing_cap_messages": 3,
        "marketing_cap_days": 7, "control_group_percent": 5})
    east = Region.objects.filter(time_zone="Asia/Krasnoyarsk").values_list("pk", flat=True).first() or \
        Region.objects.filter(time_zone="Asia/Vladivostok").values_list("pk", flat=True).first()
    moment = sql.at(MOMENT - timedelta(days=30))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Member._meta.db_table} (kind, status, last_name, first_name, middle_name, legal_name,"
            " inn, kpp, phone, email, gender, registration_source, registered_at, blocked_reason, search_text,"
            " created_at, updated_at, region_id)"
            " SELECT 'individual', 'active', 'Участник', 'Анна', '', '', '', '', '', 'm' || n || '@example.ru', '',"
            " 'bench', %s, '', '', %s, %s, CASE WHEN n %% 5 = 0 THEN %s END FROM generate_series(1, %s) n",
            [moment, moment, moment, east, members])
        cursor.execute(
            f"INSERT INTO {Consent._meta.db_table} (member_id, channel, granted, decided_at, source)"
            f" SELECT id, 'email', id %% 20 <> 1, %s, 'bench' FROM {Member._meta.db_table} WHERE id %% 20 <> 2",
            [moment])
        cursor.execute(
            f"INSERT INTO {Message._meta.db_table} (member_id, channel, purpose, kind, source, \"to\", subject, body,"
            " status, skip_reason, attempts, error, created_at, provider_id, unsubscribe_url, uid, leased_by)"
            " SELECT m.id, 'email', 'marketing', 'mailing', 'earlier:' || m.id || ':' || k, m.email, 's', 'b', 'sent',"
            " '', 1, '', %s, '', '', gen_random_uuid(), ''"
            f" FROM {Member._meta.db_table} m CROSS JOIN generate_series(1, 2) k WHERE m.id %% 5 = 1",
            [sql.at(MOMENT - timedelta(days=2))])
        cursor.execute("ANALYZE")


def journey_round(number: int, url: str) -> tuple[int, float]:
    """One fresh journey through entry and the send step; returns (advanced, seconds)."""
    from django.db import transaction

    from kopilka.communications.journeys.advance import advance
    from kopilka.communications.journeys.entry import look
    from kopilka.communications.journeys.services import create_journey, move_journey

    code = f"bench-{number}"
    create_journey(code=code, name=code, trigger={"kind": "schedule", "at": MOMENT.isoformat()}, actor="bench",
                   graph={"start": "hello", "steps": {"hello": {"kind": "send", "template": "bench"}}},
                   holdout_percent="10")
    checkpoint(url)
    started = time.perf_counter()
    with transaction.atomic():
        look(move_journey(code, "start", actor="bench"), MOMENT)
    advanced = advance(MOMENT)
    return advanced, time.perf_counter() - started


def bare_round(rows: int, url: str) -> float:
    """Seconds of a bare INSERT … SELECT of `rows` messages."""
    from django.db import connection, transaction

    from kopilka.communications.models import Message
    from kopilka.core import sql
    from kopilka.customers.models import Member

    checkpoint(url)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Message._meta.db_table} (member_id, channel, purpose, kind, source, \"to\", subject, body,"
            " status, skip_reason, attempts, error, created_at, provider_id, unsubscribe_url, uid, leased_by)"
            " SELECT m.id, 'email', 'marketing', 'bare', 'bare:' || m.id, m.email, '', '', 'queued', '', 0, '', %s,"
            f" '', '', gen_random_uuid(), '' FROM {Member._meta.db_table} m ORDER BY m.id LIMIT %s",
            [sql.at(MOMENT), rows])
    return time.perf_counter() - started


def clean() -> None:
    from django.db import connection

    from kopilka.communications.journeys.models import JourneyState, JourneyStep
    from kopilka.communications.models import Message

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {JourneyStep._meta.db_table}, {JourneyState._meta.db_table}")
        cursor.execute(f"DELETE FROM {Message._meta.db_table} WHERE kind IN ('journey', 'bare')")
        cursor.execute("VACUUM ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/kopilka_journeys_bench")
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    recreate_database(args.database_url)
    setup_django(args.database_url)
    from django.core.management import call_command

    from kopilka.communications.message_templates import save_template

    call_command("migrate", verbosity=0)
    import kopilka.communications.journeys.advance  # noqa: F401 - imported before the clock starts
    import kopilka.communications.journeys.entry  # noqa: F401

    log(f"crowd of {args.members:,} members …")
    crowd(args.members)
    save_template(code="bench", actor="bench", name="bench", channel="email", purpose="marketing",
                  subject_ru="Бонусы", body_ru="{{ member.name }}, {{ burning.points }} бонусов сгорят")
    rounds, advanced = [], 0
    for number in range(1, args.rounds + 1):
        advanced, seconds = journey_round(number, args.database_url)
        clean()
        bare = bare_round(advanced, args.database_url)
        clean()
        rounds.append([round(advanced / seconds), round(advanced / bare)])
        log(f"round {number}: {advanced:,} members in {seconds:.2f} s ({advanced / seconds:,.0f}/s); bare "
            f"{bare:.2f} s ({advanced / bare:,.0f}/s)")
    members_per_s = statistics.median(r[0] for r in rounds)
    bare_per_s = statistics.median(r[1] for r in rounds)
    print(json.dumps({"members": args.members, "advanced": advanced, "members_per_s": members_per_s,
                      "bare_per_s": bare_per_s, "ratio": round(bare_per_s / members_per_s, 2), "rounds": rounds}))


if __name__ == "__main__":
    main()
