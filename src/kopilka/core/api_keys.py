"""Issuing and revoking API keys, each together with its audit event (from the CLI and the administration)."""

from django.db import transaction
from django.utils.translation import gettext as _

from kopilka.core import audit
from kopilka.core.models import ApiKey


def issue(name: str, scopes: list[str], *, actor: str, user=None) -> tuple[ApiKey, str]:
    """A new key and its token (shown once); IntegrityError when the name is taken."""
    with transaction.atomic():
        key, token = ApiKey.issue(name, scopes)
        audited(key, "apikey.issued", actor=actor, user=user)
    return key, token


def revoke(key: ApiKey, *, actor: str, user=None) -> bool:
    """Deactivate the key; False when it was inactive already."""
    with transaction.atomic():
        if not ApiKey.objects.filter(pk=key.pk, is_active=True).update(is_active=False):
            return False
        audited(key, "apikey.revoked", actor=actor, user=user)
    return True


def audited(key: ApiKey, action: str, *, actor: str, user=None) -> None:
    """The audit event of issuing or revoking `key` (inside the caller's transaction)."""
    text = _("Issued the API key %(name)s") if action == "apikey.issued" else _("Revoked the API key %(name)s")
    audit.record(user, action, text % {"name": key.name}, actor=actor, target=f"core.apikey:{key.pk}",
                 details={"scopes": key.scopes, "prefix": key.prefix})
