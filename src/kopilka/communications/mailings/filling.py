"""A mailing's message gets its text right before its send: the outbox wrote it set-based without one (`building`),
and the worker holding its claim fills it here (`fill`, the outbox's filler of the mailings' kind:
`services.fill_at_send`), so a member's balance and names are as they are when the message goes.

The text is the member's variant's template (`message_templates.compose`), its links made trackable for e-mail
(`tracking`), and a marketing e-mail's unsubscribe link appended as every marketing e-mail carries it. An SMS to a
member whose phone is not a phone number is skipped (`not_a_phone`), as `services.notify` would have decided.
The text is written only while this worker holds the message, so its every try sends the same text.
"""

from kopilka.communications import claimed_text
from kopilka.communications.mailings import tracking
from kopilka.communications.mailings.models import MailingRecipient, MailingVariant
from kopilka.communications.message_templates import compose
from kopilka.communications.models import Message


def fill(message: Message, worker: str) -> bool:
    """Write the claimed message's text (`claimed_text.keep`: links tracked); False when it may not go after all
    (then it is skipped)."""
    group = MailingRecipient.objects.filter(message=message).values_list("mailing_id", "group").get()
    variant = MailingVariant.objects.select_related("template").get(mailing_id=group[0], position=group[1])
    return claimed_text.keep(message, worker, compose(variant.template, message.member_id),
                             links=lambda body: tracking.tracked(body, message.uid))
