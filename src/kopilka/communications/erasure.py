"""A member's erasure (152-FZ) reaches the messages: what was sent to them, and where, is forgotten."""

from kopilka.communications.models import Attempt, Message


def forget_member(sender, *, member_id: int, **kwargs) -> None:
    """`customers.signals.member_erased`, inside the erasure's transaction: every message to the member keeps its
    kind, status and times but loses its address, subject and text (and its attempts their errors, which may
    quote the address); one still waiting is not sent."""
    messages = Message.objects.filter(member_id=member_id)
    messages.filter(status=Message.Status.QUEUED).update(status=Message.Status.SKIPPED,
                                                         skip_reason=Message.SkipReason.MEMBER_ERASED)
    messages.update(to="", subject="", body="", error="", unsubscribe_url="", provider_id="")
    Attempt.objects.filter(message__member_id=member_id).update(error="")
