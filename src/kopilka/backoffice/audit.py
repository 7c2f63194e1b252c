"""Writing the audit log: every back-office action that changes something records itself here, and so does
every change of the programme settings, from the screen or the API (`programme_changed`, connected by runtime
to `core.programme.changed`), naming the API key as the actor when there is no person."""

from django.utils.translation import gettext as _

from kopilka.backoffice.models import AuditEvent
from kopilka.core import clock


def actor_of(user) -> str:
    """How the ledger and the audit log name a person."""
    return f"user:{user.get_username()}"


def record(user, action: str, summary: str, *, member_id: int | None = None, target: str = "", comment: str = "",
           details: dict | None = None, actor: str | None = None) -> AuditEvent:
    """One audit event by `user` (a person), or by `actor` alone (an API key) when `user` is None."""
    return AuditEvent.objects.create(
        at=clock.now(), user=user, actor=actor or actor_of(user), action=action, member_id=member_id,
        target=target, summary=summary[:300], comment=comment, details=details or {},
    )


def programme_changed(sender, *, actor: str, user, moved: dict[str, list[str]], **kwargs) -> None:
    """The audit event of a change of the programme settings: which values in force moved, before and
    after."""
    summary = _("Changed programme settings: %(names)s") % {"names": ", ".join(moved) or "—"}
    record(user, "programme.changed", summary, target="core.programmesettings", details=moved, actor=actor)
