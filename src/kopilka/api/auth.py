"""Who is calling: an integration with an API key (scopes) or a signed-in staff member (permissions).

Nothing in the API is anonymous. `require_scope` is called first thing in every endpoint.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja.security import APIKeyHeader, HttpBearer, SessionAuth

from kopilka.core.errors import PermissionDenied
from kopilka.core.models import ApiKey, hash_secret


# How stale a key's "last used" may get: recording every request would add a write to every read.
LAST_USED_PRECISION = timedelta(minutes=1)


def _lookup(token: str) -> ApiKey | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "kpk":
        return None
    key = ApiKey.objects.filter(prefix=parts[1], is_active=True).first()
    if key is None or key.secret_hash != hash_secret(parts[2]):
        return None
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
