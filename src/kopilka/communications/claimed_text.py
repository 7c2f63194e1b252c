"""Keeping a message's text under its sender's claim: the outbox's fillers (`services.fill_at_send`) compose the text
right before the first send, and `keep` writes it to the message the worker holds, so every later try sends the
same text. An SMS goes to the member's phone in international form (a number that is none is skipped: not a
phone); an e-mail carries the unsubscribe line and link (`unsubscribe.with_link`) in the text's language."""

from collections.abc import Callable

from django.utils import translation
from django.utils.translation import gettext as _

from kopilka.communications import unsubscribe
from kopilka.communications.message_templates import Composed
from kopilka.communications.models import Message
from kopilka.core.errors import ValidationFailed
from kopilka.customers.validators import normalise_phone

SUBJECT_LENGTH = Message._meta.get_field("subject").max_length


def keep(message: Message, worker: str, composed: Composed, *, unsubscribe_url: str = "",
         links: Callable[[str], str] | None = None) -> bool:
    """Write `composed` to the claimed `message` (and into `message`); False when it may not go after all (then it
    is skipped). `unsubscribe_url`: the link already given to the template (else made here); `links` rewrites an
    e-mail's links before the unsubscribe line is added (tracked links)."""
    mine = Message.objects.filter(pk=message.pk, leased_by=worker, status=Message.Status.QUEUED)
    to = message.to
    if message.channel == Message.Channel.SMS:
        try:
            to = normalise_phone(message.to)
        except ValidationFailed:
            mine.update(status=Message.Status.SKIPPED, skip_reason=Message.SkipReason.NOT_A_PHONE, lease_until=None,
                        leased_by="", next_try_at=None)
            return False
    body, link = composed.body, ""
    if message.channel == Message.Channel.EMAIL:
        link = unsubscribe_url or unsubscribe.url(message.member_id, message.channel)
        with translation.override(composed.language):
            body = unsubscribe.with_link(links(body) if links else body, link)
    with translation.override(composed.language):
        subject = composed.subject[:SUBJECT_LENGTH] or _("Message")
    mine.update(to=to, subject=subject, body=body, unsubscribe_url=link)
    message.to, message.subject, message.body, message.unsubscribe_url = to, subject, body, link
    return True
