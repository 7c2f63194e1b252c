"""`kopilka restore FILE`: a backup into the configured, empty database, then the ledger's reconciliation; the
restore is in the restored database's audit log."""

from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from kopilka.core import audit
from kopilka.runtime import backups


class Command(BaseCommand):
    help = "Restore a backup made by `kopilka backup` into the configured empty database, then reconcile the ledger"

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *, file: Path, **options) -> None:
        try:
            backups.load(connection.settings_dict, file,
                         has_tables=lambda: bool(connection.introspection.table_names()))
        except backups.BackupFailed as failed:
            raise CommandError(f"Restore failed: {failed}") from failed
        connection.close()
        with transaction.atomic():  # the restored database records who restored it, and from what
            audit.record(None, "backup.restored", _("Restored the backup %(file)s") % {"file": file.name},
                         actor=audit.cli_actor(), details={"file": str(file)})
        self.stdout.write(f"Restored {file}.")
        call_command("reconcile", stdout=self.stdout, stderr=self.stderr)
