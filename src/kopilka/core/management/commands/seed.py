"""`manage.py seed` (`kopilka seed`): the demo data set — members, purchases and their points — in an empty
programme."""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from kopilka.customers.models import Member
from kopilka.seed.demo import DemoSize, load_demo

DEFAULTS = DemoSize()


class Command(BaseCommand):
    help = "Load the demo data set (members, purchase history, points) into a programme that has no members yet"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--members", type=int, default=DEFAULTS.members, help="members (default %(default)s)")
        parser.add_argument(
            "--months", type=int, default=DEFAULTS.months, help="months of history up to now (default %(default)s)"
        )
        parser.add_argument("--seed", type=int, default=DEFAULTS.seed, help="random seed (default %(default)s)")

    def handle(self, *, members: int, months: int, seed: int, **options) -> None:
        if members < 1 or months < 1:
            raise CommandError(_("--members and --months must be positive."))
        if Member.objects.exists():
            raise CommandError(_("The programme already has members; the demo data set goes into an empty one."))
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
