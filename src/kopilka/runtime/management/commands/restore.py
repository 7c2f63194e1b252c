"""`kopilka restore FILE`: a backup into the configured, empty database, then the ledger's reconciliation."""

from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

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
        self.stdout.write(f"Restored {file}.")
        call_command("reconcile", stdout=self.stdout, stderr=self.stderr)
