"""Tests run against whatever DATABASE_URL names (PostgreSQL) or, without it, SQLite in memory."""

import itertools
import json
import os
import secrets

import pytest
from django.db import connection
from django.db.backends.base.operations import BaseDatabaseOperations
from django.test import Client

from kopilka.core.models import ApiKey

# The hand-worked programmes of the analytics (march, crowd) serve the back office, API and browser tests too; the
# webhook receiver on loopback serves the tests of communications and of the back office.
pytest_plugins = ["tests.analytics.programmes", "tests.communications.receiver"]


@pytest.fixture(autouse=True, scope="session")
def _secret_key():
    """A random key for the run, as an installation has one (there is no built-in key); children started by the
    tests get it through the environment."""
    from django.conf import settings

    key = secrets.token_urlsafe(48)
    os.environ["KOPILKA_SECRET_KEY"] = settings.SECRET_KEY = key
    return key


def _flush_with_the_maintenance_switch(execute_sql_flush):
    """The test suite empties tables between tests, and only then says so on PostgreSQL (the ledger refuses to be
    emptied otherwise): the switch is on for the flush's own transaction, never for a test's statements."""

    def flush(self, sql_list):
        if self.connection.vendor == "postgresql":
            sql_list = ["SET LOCAL kopilka.maintenance = on", *sql_list]
        return execute_sql_flush(self, sql_list)

    return flush


BaseDatabaseOperations.execute_sql_flush = _flush_with_the_maintenance_switch(BaseDatabaseOperations.execute_sql_flush)


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_programme_settings():
    """Programme settings are cached per process: a row saved by one test is gone with its transaction."""
    from kopilka.core import programme

    programme.forget()
    yield
    programme.forget()


@pytest.fixture(autouse=True)
def _fresh_api_keys():
    """API keys are cached per process (`api.auth`): a key read by one test is gone with its transaction."""
    from kopilka.api import auth

    auth.forget_keys()
    yield
    auth.forget_keys()


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


class ApiCaller:
    """A django.test.Client that speaks JSON and carries an API key with the given scopes."""

    def __init__(self, token: str | None):
        self.client = Client()
        self.headers = {"HTTP_ACCEPT_LANGUAGE": "en"}
        if token:
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    def get(self, path: str, params: dict | None = None):
        return self.client.get(path, params or {}, **self.headers)

    def write(self, method: str, path: str, body: dict | None = None, key: str | None = None):
        headers = dict(self.headers)
        if key is not None:
            headers["HTTP_IDEMPOTENCY_KEY"] = key
        send = getattr(self.client, method)
        return send(path, json.dumps(body or {}), content_type="application/json", **headers)

    def post(self, path: str, body: dict | None = None, key: str | None = None):
        return self.write("post", path, body, key)

    def patch(self, path: str, body: dict | None = None, key: str | None = None):
        return self.write("patch", path, body, key)

    def put(self, path: str, body: dict | None = None, key: str | None = None):
        return self.write("put", path, body, key)


@pytest.fixture
def caller_with(db):
    """caller_with("members:read", ...) makes a caller whose key holds exactly those scopes."""
    made = []

    def make(*scopes: str) -> ApiCaller:
        _, token = ApiKey.issue(f"test-key-{len(made)}", list(scopes))
        made.append(token)
        return ApiCaller(token)

    return make


@pytest.fixture
def anonymous(db) -> ApiCaller:
    return ApiCaller(None)


_names = itertools.count()


@pytest.fixture
def staff(db):
    """staff("support") is a new active staff user holding that role (roles are synced first)."""
    from django.contrib.auth.models import Group, User

    from kopilka.backoffice.roles import sync_roles

    sync_roles()

    def make(*roles: str, **fields):
        user = User.objects.create_user(
            username=fields.pop("username", f"{roles[0] if roles else 'nobody'}-{next(_names)}"), password="pw",
            is_staff=True, **fields,
        )
        user.groups.set(Group.objects.filter(name__in=roles))
        return user

    return make
