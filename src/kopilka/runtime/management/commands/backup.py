"""`kopilka backup FILE`: the whole database into one file (see runtime.backups)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from kopilka.runtime import backups


class Command(BaseCommand):
    help = "Back up the whole database into FILE (PostgreSQL: pg_dump custom format; SQLite: its backup API)"

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *, file: Path, **options) -> None:
        try:
            backups.dump(connection.settings_dict, file, progress=lambda text: self.stderr.write(text))
        except backups.BackupFailed as failed:
            raise CommandError(f"Backup failed: {failed}") from failed
        self.stdout.write(f"Backed up to {file} ({file.stat().st_size:,} bytes).")
