"""Writing the audit log: every back-office action that changes something records itself here."""

from kopilka.backoffice.models import AuditEvent
from kopilka.core import clock


def actor_of(user) -> str:
    """How the ledger and the audit log name a person."""
    return f"user:{user.get_username()}"


def record(user, action: str, summary: str, *, member_id: int | None = None, target: str = "", comment: str = "",
           details: dict | None = None) -> AuditEvent:
    return AuditEvent.objects.create(
        at=clock.now(), user=user, actor=actor_of(user), action=action, member_id=member_id, target=target,
        summary=summary[:300], comment=comment, details=details or {},
    )
