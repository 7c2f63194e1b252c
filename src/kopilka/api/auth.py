"""Who is calling: an integration with an API key (scopes) or a signed-in staff member (permissions).

Nothing in the API is anonymous. `require_scope` is called first thing in every endpoint.

A process reads an API key at most once every KEY_CACHE_SECONDS and keeps at most KEY_CACHE_SIZE of them: a key
revoked (or its scopes changed) stops working (or changes) within KEY_CACHE_SECONDS in every process. A process
records a key's last use at most once every LAST_USED_PRECISION.
"""

import hmac
from dataclasses import dataclass
from datetime import timedelta
from time import monotonic

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja.security import APIKeyHeader, HttpBearer, SessionAuth

from kopilka.core import sql
from kopilka.core.errors import PermissionDenied
from kopilka.core.models import ApiKey, hash_secret

# How stale a key's "last used" may get: recording every request would add a write to every read.
LAST_USED_PRECISION = timedelta(minutes=1)
KEY_CACHE_SECONDS = 5.0
KEY_CACHE_SIZE = 1000

_keys: dict[str, tuple[float, ApiKey]] = {}  # the token's digest → (read at, on the monotonic clock; the key)
_recorded: dict[int, float] = {}  # key id → when this process last recorded its use (monotonic)


_KEY_FIELDS = ["id", "name", "prefix", "secret_hash", "scopes", "is_active", "created_at", "last_used_at"]
# Read by hand: every API call asks, and building the ORM query would cost more than running it.
_KEY = f"""
SELECT id, name, prefix, secret_hash, scopes, created_at, last_used_at FROM {ApiKey._meta.db_table}
WHERE prefix = %s AND is_active
"""


def _read(token: str) -> ApiKey | None:
    """The active key the token names, when the token's secret is the key's."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "kpk":
        return None
    found = sql.rows(_KEY, [parts[1]])
    if not found or not hmac.compare_digest(found[0][3], hash_secret(parts[2])):
        return None
    pk, name, prefix, secret_hash, scopes, created_at, last_used_at = found[0]
    return ApiKey.from_db(connection.alias, _KEY_FIELDS, [
        pk, name, prefix, secret_hash, sql.document(scopes), True, sql.moment(created_at), sql.moment(last_used_at),
    ])


def _lookup(token: str) -> ApiKey | None:
    """The token's key, as read at most KEY_CACHE_SECONDS ago by this process (a refused token is not kept)."""
    digest, now = hash_secret(token), monotonic()
    cached = _keys.get(digest)
    if cached is not None and now - cached[0] < KEY_CACHE_SECONDS:
        key = cached[1]
    else:
        _keys.pop(digest, None)
        if (found := _read(token)) is None:
            return None
        key = found
        _keep(digest, now, key)
    _record_use(key, now)
    return key


def _keep(digest: str, now: float, key: ApiKey) -> None:
    if len(_keys) >= KEY_CACHE_SIZE:
        for stale in [d for d, (read_at, _key) in _keys.items() if now - read_at >= KEY_CACHE_SECONDS]:
            _keys.pop(stale, None)
        if len(_keys) >= KEY_CACHE_SIZE:
            _keys.clear()
    _keys[digest] = (now, key)


def _record_use(key: ApiKey, now: float) -> None:
    """Writes the key's last use unless this process wrote it, or found it written, within LAST_USED_PRECISION."""
    recorded = _recorded.get(key.pk)
    if recorded is not None and now - recorded < LAST_USED_PRECISION.total_seconds():
        return
    moment = timezone.now()
    if recorded is None and key.last_used_at is not None and moment - key.last_used_at < LAST_USED_PRECISION:
        _recorded[key.pk] = now - (moment - key.last_used_at).total_seconds()
        return
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=moment)
    _recorded[key.pk] = now


def forget_keys() -> None:
    """Forget the keys read and the uses recorded, as a new process would start."""
    _keys.clear()
    _recorded.clear()


class BearerKey(HttpBearer):
    def authenticate(self, request, token):
        return _lookup(token)


class HeaderKey(APIKeyHeader):
    param_name = "X-API-Key"

    def authenticate(self, request, key):
        return _lookup(key) if key else None


class StaffSession(SessionAuth):
    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        return user if user is not None and user.is_active and user.is_staff else None


API_AUTH = [BearerKey(), HeaderKey(), StaffSession()]


@dataclass(frozen=True)
class Principal:
    """The caller as the ledger records it: `actor` goes into every entry it writes."""

    actor: str
    idempotency_scope: str


def require_scope(request, scope: str) -> Principal:
    """Refuse unless the caller holds `scope`; return who the caller is."""
    auth = request.auth
    if isinstance(auth, ApiKey):
        if scope not in auth.scopes:
            raise PermissionDenied(
                _("This API key lacks the scope %(scope)s.") % {"scope": scope}, details={"scope": scope}
            )
        return Principal(actor=auth.actor, idempotency_scope=f"apikey:{auth.pk}")
    if isinstance(auth, AbstractBaseUser):
        if not auth.has_perm("core." + scope.replace(":", "_")):
            raise PermissionDenied(
                _("Your account lacks the permission %(scope)s.") % {"scope": scope}, details={"scope": scope}
            )
        return Principal(actor=f"user:{auth.get_username()}", idempotency_scope=f"user:{auth.pk}")
    raise PermissionDenied()
