"""Whole-database backups and their restoration: PostgreSQL through pg_dump/pg_restore (custom format, consistent
at one moment while the platform keeps running), SQLite through its online backup API.

A restore goes only into an empty database (nothing is ever overwritten) and is proved by the ledger's
reconciliation afterwards (`kopilka restore` runs it).
"""

import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path


class BackupFailed(Exception):
    pass


def postgres_uri(settings_dict: dict) -> str:
    """A libpq connection URI for Django's connection settings (pg_dump and pg_restore take it as --dbname)."""
    from urllib.parse import quote

    user = quote(settings_dict.get("USER") or "")
    password = quote(settings_dict.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or ""
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgresql://{auth}{quote(host)}{port}/{quote(settings_dict['NAME'])}"


def _tool(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)),
                                       None)
    if not found:
        raise BackupFailed(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return str(found)


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupFailed(done.stderr.strip() or f"{command[0]} exited with {done.returncode}")


def dump(settings_dict: dict, target: Path, progress: Callable[[str], None] = print) -> None:
    """Write a backup of the database of `settings_dict` to `target` (which must not exist)."""
    if target.exists():
        raise BackupFailed(f"{target} exists: choose a new file")
    if settings_dict["ENGINE"].endswith("postgresql"):
        progress("pg_dump (custom format) …")
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={target}",
              f"--dbname={postgres_uri(settings_dict)}"])
        return
    source = sqlite3.connect(settings_dict["NAME"])
    copy = sqlite3.connect(target)
    try:
        source.backup(copy, pages=1024, progress=lambda _status, remaining, total: progress(
            f"{total - remaining:,}/{total:,} pages"))
    finally:
        copy.close()
        source.close()


def load(settings_dict: dict, source: Path, *, has_tables: Callable[[], bool]) -> None:
    """Restore `source` into the (empty) database of `settings_dict`."""
    if not source.is_file():
        raise BackupFailed(f"no backup at {source}")
    if has_tables():
        raise BackupFailed("the target database is not empty: restore into a new database")
    if settings_dict["ENGINE"].endswith("postgresql"):
        _run([_tool("pg_restore"), "--no-owner", "--exit-on-error", f"--dbname={postgres_uri(settings_dict)}",
              str(source)])
        return
    backup = sqlite3.connect(source)
    target = sqlite3.connect(settings_dict["NAME"])
    try:
        backup.backup(target)
    finally:
        target.close()
        backup.close()
