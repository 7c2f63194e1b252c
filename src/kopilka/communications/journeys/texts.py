"""The text of a journey's message, made from its step's template right before its first send: the member's
variables as they are then (balance, coming burns, tier, the step's offers), in the programme's language, and for
an e-mail the unsubscribe line and link. Written to the message under its sender's claim, so every later try
sends the same text. `fill` is the outbox's filler of the journeys' kind (`services.fill_at_send`)."""

from kopilka.communications import claimed_text, unsubscribe
from kopilka.communications.journeys.graph import parse_graph
from kopilka.communications.journeys.models import JourneyState
from kopilka.communications.message_templates import compose, get_template
from kopilka.communications.models import Message


def fill(message: Message, worker: str) -> bool:
    """Compose the message (an ApplicationError when it cannot be: its template is gone) and keep its text
    (`claimed_text.keep`)."""
    _journey, state_id, step_id = message.source.split(":", 2)
    state = JourneyState.objects.select_related("version").get(pk=int(state_id))
    step = parse_graph(state.version.graph).steps[step_id]
    unsubscribe_url = unsubscribe.url(message.member_id, message.channel)
    composed = compose(get_template(step.template), message.member_id, offers=step.offers,
                       extra={"unsubscribe_url": unsubscribe_url})
    return claimed_text.keep(message, worker, composed, unsubscribe_url=unsubscribe_url)
