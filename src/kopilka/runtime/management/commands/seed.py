"""`manage.py seed` (`kopilka seed`): the demo data set — members, purchases and their points — in an empty
programme; with `--bulk`, the large data set of `seed.bulk` made by set-based SQL (PostgreSQL only)."""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.translation import gettext as _

from kopilka.customers.models import Member
from kopilka.orders.models import Order
from kopilka.seed.bulk import MAX_MEMBERS, BulkSize, load_bulk
from kopilka.seed.demo import DemoSize, load_demo

DEFAULTS = DemoSize()


class Command(BaseCommand):
    help = (
        "Load the demo data set (members, purchase history, points) into a programme that has no members yet; "
        "with --bulk, a large data set made by set-based SQL (PostgreSQL)"
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--members", type=int, default=DEFAULTS.members, help="members (default %(default)s)")
        parser.add_argument(
            "--months", type=int, default=DEFAULTS.months, help="months of history up to now (default %(default)s)"
        )
        parser.add_argument("--seed", type=int, default=DEFAULTS.seed, help="random seed (default %(default)s)")
        parser.add_argument(
            "--bulk", action="store_true",
            help="make a large data set with set-based SQL (PostgreSQL), e.g. --members 1000000 --receipts 10000000",
        )
        parser.add_argument("--receipts", type=int, help="with --bulk: receipts (default 10 per member)")

    def handle(self, *, members: int, months: int, seed: int, bulk: bool, receipts: int | None, **options) -> None:
        if members < 1 or months < 1:
            raise CommandError(_("--members and --months must be positive."))
        if receipts is not None and not bulk:
            raise CommandError(_("--receipts goes with --bulk."))
        if Member.objects.exists():
            raise CommandError(_("The programme already has members; the demo data set goes into an empty one."))
        if bulk and Order.objects.exists():
            raise CommandError(_("The programme already has purchases; the bulk data set goes into an empty one."))
        if bulk:
            self._bulk(members, months, seed, members * 10 if receipts is None else receipts)
            return
        result = load_demo(DemoSize(members=members, months=months, seed=seed), stream=sys.stderr)
        self.stdout.write(
            _(
                "Demo data loaded: %(members)s members, %(orders)s orders (of non-members: %(non_members)s), "
                "%(operations)s ledger operations, %(burned)s points burned."
            )
            % {
                "members": result.members,
                "orders": result.orders,
                "non_members": result.non_member_orders,
                "operations": result.ledger_operations,
                "burned": result.burned_points,
            }
        )

    def _bulk(self, members: int, months: int, seed: int, receipts: int) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(
                _("The bulk data set is made with PostgreSQL's SQL: set DATABASE_URL to a PostgreSQL database, "
                  "or leave out --bulk for the demo data set.")
            )
        if members > MAX_MEMBERS or receipts < 0:
            raise CommandError(
                _("--members can be at most %(max)s and --receipts not negative.") % {"max": f"{MAX_MEMBERS:,}"}
            )
        result = load_bulk(BulkSize(members=members, receipts=receipts, months=months, seed=seed), stream=sys.stderr)
        self.stdout.write(
            _(
                "Bulk data loaded: %(members)s members, %(receipts)s receipts (of non-members: %(non_members)s), "
                "%(lines)s lines, %(lots)s lots, %(spends)s receipts spending points, %(burned)s points burned."
            )
            % {
                "members": result.members,
                "receipts": result.receipts,
                "non_members": result.non_member_receipts,
                "lines": result.lines,
                "lots": result.lots,
                "spends": result.spending_receipts,
                "burned": result.burned_points,
            }
        )
