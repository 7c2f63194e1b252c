"""`manage.py import_transactions FILE` (`kopilka import transactions FILE`): purchase history from a CSV."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from kopilka.core import audit
from kopilka.core.errors import ApplicationError
from kopilka.orders.importing import DEFAULT_SOURCE, ImportRejected, import_transactions

HELP = """Import purchase history from a CSV file (UTF-8 with or without BOM, "," or ";" as delimiter).

Columns: customer_id, purchased_at, amount (required); order_id, sku, quantity, price, region (optional).
Each row is one receipt line and amount is that line's amount (>= 0, at most 2 decimal places, "." or ",").
Rows sharing an order_id form one order whose total is the sum of their amounts; they must agree on
customer, purchased_at and region. A row without order_id is an order of its own, keyed by its content and the
occurrence of that content in the file, so two identical rows are two purchases. A row without customer_id is
a non-member's purchase; an unknown customer_id becomes a new member. quantity defaults to 1 and price to the
amount; region is a two-digit region code; purchased_at is YYYY-MM-DD or DD.MM.YYYY with an optional time,
read in the programme's time zone. Orders already imported from the same source are skipped, so importing a
file again adds nothing. Any bad row rejects the whole file with a report of line numbers; nothing is imported
then."""


class Command(BaseCommand):
    help = HELP

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the CSV file")
        parser.add_argument(
            "--source",
            default=DEFAULT_SOURCE,
            help=f"where the purchases come from (default {DEFAULT_SOURCE!r}); order ids are unique per "
            "source",
        )
        parser.add_argument("--dry-run", action="store_true", help="check and count everything, save nothing")
        parser.add_argument("--actor", default=None, help="who runs the import (default: cli:<the login name>)")

    def handle(self, *args, file: Path, source: str, dry_run: bool, actor: str | None, **options):
        if not file.is_file():
            raise CommandError(_("No such file: %(path)s") % {"path": file})
        try:
            result = import_transactions(
                file, source=source, actor=actor or audit.cli_actor(), dry_run=dry_run, progress_stream=sys.stderr
            )
        except ImportRejected as rejected:
            raise CommandError(rejected.report()) from rejected
        except ApplicationError as error:
            raise CommandError(str(error.message)) from error
        summary = _(
            "Orders created: %(orders)s (of non-members: %(non_members)s), lines: %(lines)s, "
            "members created: %(members)s, orders skipped as already imported: %(skipped)s."
        ) % {
            "orders": result.orders_created,
            "non_members": result.non_member_orders,
            "lines": result.lines_created,
            "members": result.members_created,
            "skipped": result.skipped_existing,
        }
        if dry_run:
            summary = _("Dry run, nothing saved. %(summary)s") % {"summary": summary}
        self.stdout.write(summary)

