"""The fault test's short run (`bench/chaos.py --short`): the real server and two workers on PostgreSQL, killed with
SIGKILL under concurrent purchases, returns, events, compensations and expiry (one worker while it hands a message
to the SMTP server), lose and double nothing. It checks correctness only: how fast retries are answered and how much
a shared machine gets done in 30 s are reported, not asserted."""

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from kopilka.runtime import backups

BENCH = Path(__file__).resolve().parents[2] / "bench" / "chaos.py"


@pytest.fixture
def chaos_database():
    """A database of its own for the run, next to the configured one; dropped afterwards."""
    configured = settings.DATABASES["default"]
    name = f"{configured['NAME'].removeprefix('test_')}_chaos"
    yield backups.postgres_uri({**configured, "NAME": name})
    with psycopg.connect(backups.postgres_uri({**configured, "NAME": "postgres"}), autocommit=True) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_killed_server_and_workers_lose_and_double_nothing(chaos_database, tmp_path):
    env = {**os.environ, "KOPILKA_DATA_DIR": str(tmp_path)}
    run = subprocess.run([sys.executable, str(BENCH), "--short", "--database-url", chaos_database], env=env,
                         cwd=BENCH.parent, capture_output=True, text=True, timeout=300)

    assert run.stdout.strip(), run.stderr[-3000:]
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    assert run.returncode == 0, (figures["failures"], run.stderr[-3000:])
    assert figures["ok"] and figures["failures"] == {}
    assert figures["kills"] >= 3 and figures["server_kills"] >= 1 and figures["worker_kills"] >= 1
    assert figures["outbox_kills"] >= 1
    assert figures["acknowledged"] >= 1 and figures["by_kind"]["pay"] >= 1
    assert figures["lost"] == 0 and figures["duplicated"] == 0
    assert figures["refused_with_trace"] == 0 and figures["unanswered"] == 0
    assert figures["reconcile_ok"] is True
    assert figures["messages"] > 0 and figures["undelivered"] == 0
    assert figures["messages_delivered"] == figures["messages"]
    assert figures["message_repeats"] >= 1  # the message whose sender was killed mid-handoff, by its Message-ID
    assert figures["holds_open_past_timeout"] == 0
    assert figures["expiring_lots"] >= 1 and figures["expired_lots"] >= 1 and figures["held_after_expiry"] == 0
    assert figures["retried"] >= 1 and "longest_retry_s" in figures and "slow_retry" in figures
