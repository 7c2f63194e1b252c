"""A backup restores into a new database whose ledger reconciles, through the real commands in real processes;
a restore never goes into a database that holds anything."""

import os
import sqlite3
import subprocess
import uuid

import psycopg
import pytest
from django.db import connection

from kopilka.customers import services as members
from kopilka.ledger import services as ledger
from kopilka.runtime import backups
from tests.core.marks import transactional_db
from tests.runtime.processes import KOPILKA


def _points(member_id: int) -> None:
    ledger.accrue(member_id=member_id, points=500, actor="t", idempotency_key=f"k-{member_id}")


@pytest.mark.postgres
@transactional_db
def test_a_postgresql_backup_restores_into_a_new_database_that_reconciles(tmp_path):
    anna = members.create_member(actor="t", last_name="Соколова")
    _points(anna.pk)
    ledger.spend(member_id=anna.pk, points=120, actor="t", idempotency_key="s-1")
    file = tmp_path / "kopilka.dump"
    source = backups.postgres_uri(connection.settings_dict)
    env = {**os.environ, "DATABASE_URL": source}
    made = subprocess.run([KOPILKA, "backup", str(file)], env=env, capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    name = f"kopilka_restore_{uuid.uuid4().hex[:8]}"
    admin = backups.postgres_uri({**connection.settings_dict, "NAME": "postgres"})
    with psycopg.connect(admin, autocommit=True) as server:
        server.execute(f'CREATE DATABASE "{name}"')
    try:
        target = backups.postgres_uri({**connection.settings_dict, "NAME": name})
        env = {**os.environ, "DATABASE_URL": target}
        restored = subprocess.run([KOPILKA, "restore", str(file)], env=env, capture_output=True, text=True,
                                  timeout=300)
        assert restored.returncode == 0, restored.stderr
        assert "Ledger reconciles: 1 accounts checked" in restored.stdout
        with psycopg.connect(target) as copy:
            assert copy.execute("SELECT balance FROM ledger_account").fetchall() == [(380,)]
            restores = copy.execute("SELECT actor FROM core_auditevent WHERE action = 'backup.restored'").fetchall()
            assert [actor.startswith("cli:") for (actor,) in restores] == [True]
        again = subprocess.run([KOPILKA, "restore", str(file)], env=env, capture_output=True, text=True,
                               timeout=300)
        assert again.returncode != 0 and "not empty" in again.stderr
    finally:
        with psycopg.connect(admin, autocommit=True) as server:
            server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_an_sqlite_backup_restores_and_reconciles(tmp_path):
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["KOPILKA_DATA_DIR"] = str(data)
    run = lambda *args, **kw: subprocess.run([KOPILKA, *args], env={**env, **kw}, capture_output=True,  # noqa: E731
                                             text=True, timeout=300)
    assert run("migrate").returncode == 0
    script = ("from kopilka.customers import services as m; from kopilka.ledger import services as l; "
              "a = m.create_member(actor='t', last_name='Соколова'); l.accrue(member_id=a.pk, points=500, actor='t', "
              "idempotency_key='k')")
    assert run("shell", "-c", script).returncode == 0
    file = tmp_path / "kopilka.sqlite3.bak"
    made = run("backup", str(file))
    assert made.returncode == 0 and file.stat().st_size > 0, made.stderr
    restored = run("restore", str(file), DATABASE_URL=f"sqlite:///{tmp_path / 'restored.sqlite3'}")
    assert restored.returncode == 0 and "Ledger reconciles: 1 accounts checked" in restored.stdout, restored.stderr
    with sqlite3.connect(tmp_path / "restored.sqlite3") as copy:
        restores = copy.execute("SELECT actor FROM core_auditevent WHERE action = 'backup.restored'").fetchall()
    assert [actor.startswith("cli:") for (actor,) in restores] == [True]
