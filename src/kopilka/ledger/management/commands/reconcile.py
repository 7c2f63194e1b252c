from django.core.management.base import BaseCommand, CommandError

from kopilka.ledger.reconcile import reconcile


class Command(BaseCommand):
    help = "Prove snapshot = sum of entries = sum of lot remainders (and holds agree), for all accounts or one member."

    def add_arguments(self, parser):
        parser.add_argument("--member", type=int, help="member id; default: every account")

    def handle(self, *args, member=None, **options):
        report = reconcile(member_id=member)
        for d in report.discrepancies:
            self.stdout.write(f"MISMATCH {d.check} id={d.row_id} recorded={d.recorded} computed={d.computed}")
        if not report.clean:
            raise CommandError(f"Ledger does not reconcile: {len(report.discrepancies)} discrepancies")
        self.stdout.write(f"Ledger reconciles: {report.accounts} accounts checked, no discrepancies")
