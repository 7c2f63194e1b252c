"""What the benchmark scripts share: progress to standard error, and a fresh PostgreSQL database to measure on."""

import sys
from urllib.parse import urlparse


def log(message: str) -> None:
    """Progress for the person watching; standard output carries only the JSON line."""
    print(message, file=sys.stderr, flush=True)


def recreate_database(url: str) -> None:
    """Drop the database `url` names (closing its connections) and create it empty."""
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
