"""Who is calling: an integration with an API key (scopes) or a signed-in staff member (permissions).

Nothing in the API is anonymous. `require_scope` is called first thing in every endpoint.
"""

import hmac
from dataclasses import dataclass
from datetime import timedelta

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


_KEY_FIELDS = ["id", "name", "prefix", "secret_hash", "scopes", "is_active", "created_at", "last_used_at"]
# Read by hand: every API call asks, and building the ORM query would cost more than running it.
_KEY = f"""
SELECT id, name, prefix, secret_hash, scopes, created_at, last_used_at FROM {ApiKey._meta.db_table}
WHERE prefix = %s AND is_active
"""


def _lookup(token: str) -> ApiKey | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "kpk":
        return None
    found = sql.rows(_KEY, [parts[1]])
    if not found or not hmac.compare_digest(found[0][3], hash_secret(parts[2])):
        return None
    pk, name, prefix, secret_hash, scopes, created_at, last_used_at = found[0]
    key = ApiKey.from_db(connection.alias, _KEY_FIELDS, [
        pk, name, prefix, secret_hash, sql.document(scopes), True, sql.moment(created_at), sql.moment(last_used_at),
    ])
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_PRECISION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


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
