"""Who is calling: an integration with an API key (scopes) or a signed-in staff member (permissions).

Nothing in the API is anonymous. Every operation names its one scope with `auth=scoped(scope)`; ninja runs it before
it reads the path, the query or the body, so a caller without credentials gets 401 and one without the scope 403
whatever it sent — never a 422 that would tell it about the request's shape. An operation that names no scope
refuses everyone (`UNSCOPED`). A session is checked against CSRF only when it is a staff member's: a request
without one has nothing to forge. The endpoint reads who called with `principal_of(request)`.

A process reads an API key at most once every KEY_CACHE_SECONDS and keeps at most KEY_CACHE_SIZE of them: a key
revoked (or its scopes changed) stops working (or changes) within KEY_CACHE_SECONDS in every process. A process
records a key's last use at most once every LAST_USED_PRECISION.
"""

import hmac
from dataclasses import dataclass
from datetime import timedelta
from time import monotonic

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja.security import APIKeyCookie, APIKeyHeader, HttpBearer
from ninja.utils import check_csrf

from kopilka.core import sql
from kopilka.core.errors import PermissionDenied
from kopilka.core.models import SCOPES, ApiKey, hash_secret

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


@dataclass(frozen=True)
class Principal:
    """The caller as the ledger records it: `actor` goes into every entry it writes; `user` is the staff member
    behind a session (None for an API key)."""

    actor: str
    idempotency_scope: str
    user: AbstractBaseUser | None = None


def grant(holder: ApiKey | AbstractBaseUser, scope: str) -> Principal:
    """The principal when `holder` (an API key, or a staff member by the permission "core.<scope>") holds `scope`;
    PermissionDenied otherwise. A scope the platform does not know is held by nobody, superusers included."""
    if isinstance(holder, ApiKey):
        if scope not in SCOPES or scope not in holder.scopes:
            raise PermissionDenied(
                _("This API key lacks the scope %(scope)s.") % {"scope": scope}, details={"scope": scope}
            )
        return Principal(actor=holder.actor, idempotency_scope=f"apikey:{holder.pk}")
    if scope not in SCOPES or not holder.has_perm("core." + scope.replace(":", "_")):
        raise PermissionDenied(
            _("Your account lacks the permission %(scope)s.") % {"scope": scope}, details={"scope": scope}
        )
    return Principal(actor=f"user:{holder.get_username()}", idempotency_scope=f"user:{holder.pk}", user=holder)


class BearerKey(HttpBearer):
    def __init__(self, scope: str):
        super().__init__()
        self.scope = scope

    def authenticate(self, request, token):
        key = _lookup(token)
        return None if key is None else grant(key, self.scope)


class HeaderKey(APIKeyHeader):
    param_name = "X-API-Key"

    def __init__(self, scope: str):
        super().__init__()
        self.scope = scope

    def authenticate(self, request, key):
        found = _lookup(key) if key else None
        return None if found is None else grant(found, self.scope)


class StaffSession(APIKeyCookie):
    """An active staff member signed in to the back office; a write must carry the session's CSRF token."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self, scope: str):
        super().__init__(csrf=True)
        self.scope = scope

    def __call__(self, request):
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return None
        if not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request) is not None:
            raise PermissionDenied(_("The request lacks the session's CSRF token."), code="csrf_failed")
        return grant(user, self.scope)

    def authenticate(self, request, key):  # the session middleware has read the cookie (see __call__)
        return None


def scoped(scope: str) -> list:
    """An operation's credentials: an API key (Bearer or X-API-Key) or a staff session, holding `scope`."""
    return [BearerKey(scope), HeaderKey(scope), StaffSession(scope)]


UNSCOPED = scoped("")  # the API's default: an operation that names no scope refuses every caller


def principal_of(request) -> Principal:
    """Who called the operation, as its credentials (`scoped`) found them."""
    found = request.auth
    if not isinstance(found, Principal):
        raise PermissionDenied()
    return found
