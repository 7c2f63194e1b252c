"""`kopilka analytics rfm --as-of DATE --unit day|week|month --format csv|json`: the RFM summary per member."""

import csv
import json
import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from kopilka.analytics.rfm import UNITS, summary

COLUMNS = ["customer_id", "frequency", "recency", "T", "monetary_value"]


class Command(BaseCommand):
    help = "Analytics for analysts: the RFM summary of every member as of a date"

    def add_arguments(self, parser) -> None:
        which = parser.add_subparsers(dest="report", required=True)
        rfm = which.add_parser("rfm", help="frequency, recency, T and monetary value per member (BTYD definitions)")
        rfm.add_argument("--as-of", required=True, help="the date of the summary, YYYY-MM-DD")
        rfm.add_argument("--unit", choices=list(UNITS), default="day", help="the unit of recency and T")
        rfm.add_argument("--format", choices=["csv", "json"], default="csv")

    def handle(self, *, report: str, as_of: str, unit: str, format: str, **options) -> None:
        try:
            day = date.fromisoformat(as_of)
        except ValueError as error:
            raise CommandError(f"--as-of: not a date (YYYY-MM-DD): {as_of}") from error
        rows = ([s.customer_id, s.frequency, round(s.recency, 6), round(s.T, 6), str(s.monetary_value)]
                for s in summary(day, unit))
        if format == "json":
            json.dump([dict(zip(COLUMNS, row, strict=True)) for row in rows], sys.stdout, ensure_ascii=False)
            sys.stdout.write("\n")
            return
        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow(COLUMNS)
        out.writerows(rows)
