"""What the benchmark scripts share: progress to standard error, a fresh PostgreSQL database to measure on,
and pgbench's TPC-B on the same server: the reference a run's figures are read against."""

import os
import re
import secrets
import subprocess
import sys
from urllib.parse import urlparse


def log(message: str) -> None:
    """Progress for the person watching; standard output carries only the JSON line."""
    print(message, file=sys.stderr, flush=True)


def setup_django(url: str) -> None:
    """Django on the database of `url`, in this process, with a throwaway secret key unless one is set."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kopilka.settings")
    os.environ.setdefault("KOPILKA_SECRET_KEY", secrets.token_urlsafe(48))
    import django

    django.setup()


def recreate_database(url: str) -> None:
    """Drop the database `url` names (closing its connections) and create it empty."""
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def pg_args(url: str) -> list[str]:
    """Host, port, user and database of `url` as pgbench's arguments."""
    parts = urlparse(url)
    return ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432),
            "-U", parts.username or "postgres", parts.path.lstrip("/")]


def init_pgbench(url: str) -> None:
    """pgbench's tables (scale 10) in the database of `url`, beside the platform's."""
    subprocess.run(["pgbench", "-i", "-q", "-s", "10", *pg_args(url)], check=True, capture_output=True)


def drop_pgbench(url: str) -> None:
    subprocess.run(["pgbench", "-i", "-I", "d", *pg_args(url)], check=True, capture_output=True)


def run_pgbench(url: str, clients: int, threads: int, seconds: float) -> float:
    """TPC-B transactions per second on pgbench's tables (made by `init_pgbench` beforehand)."""
    out = subprocess.run(
        ["pgbench", "-n", "-c", str(clients), "-j", str(min(clients, threads)),
         "-T", str(max(1, round(seconds))), *pg_args(url)],
        check=True, capture_output=True, text=True,
    ).stdout
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


def checkpoint(url: str) -> None:
    """Write out what earlier steps left in the WAL, so that a timed step does not pay for their
    checkpoint."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
