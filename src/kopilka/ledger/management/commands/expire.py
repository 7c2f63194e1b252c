from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date, parse_datetime

from kopilka.core import audit, clock
from kopilka.core.progress import Progress
from kopilka.ledger.expiry import DEFAULT_BATCH_LOTS, DEFAULT_WORKERS, expire


def parse_moment(text: str) -> datetime:
    """ISO date (its end, in the programme time zone) or ISO datetime (naive = programme time zone)."""
    moment = parse_datetime(text)
    if moment is not None:
        return clock.make_aware(moment)
    day = parse_date(text)
    if day is not None:
        return clock.end_of_day(day)
    raise CommandError(f"Not a date or time: {text!r} (expected e.g. 2026-03-31 or 2026-03-31T23:00)")


class Command(BaseCommand):
    help = "Burn the points of every lot that expires at or before --as-of (default: now). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="ISO date or datetime; a date means the end of that day")
        parser.add_argument("--batch", type=int, default=DEFAULT_BATCH_LOTS, help="lots per transaction")
        parser.add_argument(
            "--workers", type=int, default=DEFAULT_WORKERS, help="connections burning batches at once (PostgreSQL)"
        )

    def handle(self, *args, as_of=None, batch=DEFAULT_BATCH_LOTS, workers=DEFAULT_WORKERS, **options):
        moment = parse_moment(as_of) if as_of else clock.now()
        result = expire(
            as_of=moment, actor=audit.cli_actor(), progress=Progress("expired lots"), batch_lots=batch, workers=workers
        )
        self.stdout.write(
            f"Expired as of {moment.isoformat()}: {result.lots} lots, {result.points} points, "
            f"{result.accounts} accounts"
        )
