"""A mailing's message gets its text right before its send: the outbox wrote it set-based without one (`building`),
and the worker holding its claim fills it here (`fill`, the outbox's filler of the mailings' kind:
`services.fill_at_send`), so a member's balance and names are as they are when the message goes.

The text is the member's variant's template (`message_templates.compose`), its links made trackable for e-mail
(`tracking`), and a marketing e-mail's unsubscribe link appended as every marketing e-mail carries it. An SMS to a
member whose phone is not a phone number is skipped (`not_a_phone`), as `services.notify` would have decided.
The text is written only while this worker holds the message, so its every try sends the same text.
"""

from django.utils import translation

from kopilka.communications import unsubscribe
from kopilka.communications.mailings import tracking
from kopilka.communications.mailings.models import MailingRecipient, MailingVariant
from kopilka.communications.message_templates import compose
from kopilka.communications.models import Message
from kopilka.core.errors import ValidationFailed
from kopilka.customers.validators import normalise_phone


def fill(message: Message, worker: str) -> bool:
    """Write the claimed message's text (into `message` too); False when it may not go after all (then it is
    skipped)."""
    mine = Message.objects.filter(pk=message.pk, leased_by=worker, status=Message.Status.QUEUED)
    to = message.to
    if message.channel == Message.Channel.SMS:
        try:
            to = normalise_phone(message.to)
        except ValidationFailed:
            mine.update(status=Message.Status.SKIPPED, skip_reason=Message.SkipReason.NOT_A_PHONE, lease_until=None,
                        leased_by="", next_try_at=None)
            return False
    group = MailingRecipient.objects.filter(message=message).values_list("mailing_id", "group").get()
    variant = MailingVariant.objects.select_related("template").get(mailing_id=group[0], position=group[1])
    composed = compose(variant.template, message.member_id)
    body, link = composed.body, ""
    if message.channel == Message.Channel.EMAIL:
        body, link = tracking.tracked(body, message.uid), unsubscribe.url(message.member_id, message.channel)
        with translation.override(composed.language):
            body = unsubscribe.with_link(body, link)
    mine.update(to=to, subject=composed.subject[:200], body=body, unsubscribe_url=link)
    message.to, message.subject, message.body, message.unsubscribe_url = to, composed.subject[:200], body, link
    return True
