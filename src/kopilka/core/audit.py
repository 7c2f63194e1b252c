"""The audit log's one writer. Every change a person, an API key or the platform makes — from the back office,
the API or the CLI — records itself here inside the transaction of the change, so a change and its record commit
or vanish together; staff reading a member's personal data are recorded too (152-FZ)."""

import getpass

from django.db import transaction
from django.utils.translation import gettext as _

from kopilka.core import clock
from kopilka.core.models import AuditEvent


def cli_actor() -> str:
    """How the ledger and the audit log name whoever ran a command: `cli:` and the operating system's user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def actor_of(user) -> str:
    """How the ledger and the audit log name a person."""
    return f"user:{user.get_username()}"


def record(user, action: str, summary: str, *, member_id: int | None = None, target: str = "", comment: str = "",
           details: dict | None = None, actor: str | None = None) -> AuditEvent:
    """One audit event by `user` (a person), or by `actor` alone (an API key, the CLI, the platform) when `user`
    is None. Only inside the transaction of the change it records: outside one it refuses (a change could commit
    without its event, or its event without it)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"the audit event {action!r} is written outside a transaction")
    return AuditEvent.objects.create(
        at=clock.now(), user=user, actor=actor or actor_of(user), action=action, member_id=member_id,
        target=target, summary=str(summary)[:300], comment=comment, details=details or {},
    )


def record_shown(user, action: str, summary: str, *, member_ids: list[int], target: str = "") -> None:
    """A person was shown personal data of the members `member_ids` (a card, a search, a list): one event naming
    them all, in its own transaction (nothing changed); none when nobody was shown."""
    if member_ids:
        with transaction.atomic():
            record(user, action, summary, member_id=member_ids[0] if len(member_ids) == 1 else None, target=target,
                   details={"members": member_ids})


def programme_changed(sender, *, actor: str, user, moved: dict[str, list[str]], **kwargs) -> None:
    """The audit event of a change of the programme settings (sent inside its transaction): which values in force
    moved, before and after."""
    summary = _("Changed programme settings: %(names)s") % {"names": ", ".join(moved) or "—"}
    record(user, "programme.changed", summary, target="core.programmesettings", details=moved, actor=actor)
