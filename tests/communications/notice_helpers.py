"""What the notices' tests share: a member who may be e-mailed, the kinds switched on, the worker's jobs, and the
e-mails read back from the SMTP server."""

from datetime import UTC, datetime
from email.header import decode_header, make_header

from kopilka.communications import notice_settings, services, tasks
from kopilka.communications.notice_kinds import KINDS
from kopilka.core import clock
from kopilka.customers import services as members
from kopilka.customers.models import Consent

# Noon in Moscow, outside the default quiet hours (21:00-09:00).
NOON = datetime(2026, 6, 16, 9, 0, tzinfo=UTC)


def reachable(last_name: str, email: str, first_name: str = ""):
    """A member with an e-mail address and consent to e-mail."""
    member = members.create_member(actor="t", last_name=last_name, first_name=first_name, email=email)
    Consent.objects.create(member=member, channel="email", granted=True, decided_at=clock.now())
    return member


def switch_on(kind: str, days: int | None = None, *, on: bool = True) -> None:
    """The kind on (or off), with its shipped template (and `days` before, where it counts them)."""
    notice_settings.change_settings({kind: notice_settings.Wanted(on, KINDS[kind].template, days)}, actor="t")


def work() -> int:
    """The worker's minute: personal notices, then the outbox sent; returns how many messages went out."""
    tasks.personal_notices.call(clock.now().isoformat())
    return services.deliver_queued()


def read(inbox) -> list[tuple[str, str, str]]:
    """(recipient, subject, text) of every e-mail the server got, in order."""
    return [(to, str(make_header(decode_header(mail["Subject"]))), mail.get_payload(decode=True).decode().strip())
            for (to,), mail in inbox.received]
