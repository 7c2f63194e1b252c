"""One personal notice to one member: the kind's template filled for the member now, recorded once per (kind,
source) under the delivery rules (`services.notify`), with the moment it stops being worth sending — the
template's relevance window counted from what it tells of, and never after that thing (a burn) has happened.
Campaign notices, told to many members at once, are written set-based instead (`notice_campaigns`)."""

from datetime import datetime

from kopilka.communications.message_templates import compose, relevance_end
from kopilka.communications.models import Message
from kopilka.communications.notice_kinds import KINDS
from kopilka.communications.notice_models import NoticeSetting
from kopilka.communications.services import notify


def tell(setting: NoticeSetting, member_id: int, *, source: str, since: datetime, extra: dict,
         until: datetime | None = None) -> Message:
    """The notice of `setting`'s kind about `source` (something that happened at `since`; `until`: the moment it
    stops mattering whatever the template says). One recorded earlier is returned as it is."""
    earlier = Message.objects.filter(kind=setting.kind, source=source).first()
    if earlier is not None:
        return earlier
    template = setting.template
    composed = compose(template, member_id, extra=extra)
    ends = [moment for moment in (relevance_end(template, since), until) if moment is not None]
    return notify(member_id, kind=setting.kind, source=source, subject=composed.subject, body=composed.body,
                  channel=template.channel, purpose=KINDS[setting.kind].purpose,
                  relevant_until=min(ends) if ends else None)
