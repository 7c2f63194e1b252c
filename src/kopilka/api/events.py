"""Member events over HTTP (SPEC §2.3): what a member did, for the event campaigns to reward.

`POST /` needs `events:write`; the `Idempotency-Key` header is the event's key: the same key again is the same
event and earns nothing more.
"""

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from kopilka.api.auth import principal_of, scoped
from kopilka.api.common import ERRORS, IdempotencyKey, MemberRef, length_of, member_id_of
from kopilka.api.idempotency import check_key
from kopilka.campaigns.events import record_event
from kopilka.campaigns.models import MemberEvent
from kopilka.campaigns.reference_books import EVENT_TYPE_CODE
from kopilka.core.retrying import outermost

router = Router(tags=["events"])


class EventIn(Schema):
    member: MemberRef
    type: str = Field(pattern=EVENT_TYPE_CODE, max_length=length_of(MemberEvent, "type"),
                      description="a code of the event types' reference book")
    occurred_at: datetime | None = None
    details: dict[str, Any] = Field(default_factory=dict, description="e.g. {\"name\": ...} of a custom event")


class EarnedOut(Schema):
    campaign: str
    points: int
    explanation: str


class EventOut(Schema):
    id: int
    member_id: int
    type: str
    occurred_at: datetime
    points: int
    replayed: bool
    campaigns: list[EarnedOut]


@router.post("/", auth=scoped("events:write"), response={200: EventOut, 201: EventOut, **ERRORS})
def post_event(request: HttpRequest, body: EventIn, idempotency_key: str | None = IdempotencyKey):
    """201 with what the event earned; 200 when the key was recorded before (nothing more is earned)."""
    principal = principal_of(request)
    member_id, key = member_id_of(body.member), check_key(idempotency_key)
    outcome = outermost(lambda: record_event(member_id=member_id, type=body.type, key=key, actor=principal.actor,
                                             occurred_at=body.occurred_at, details=body.details))
    event = outcome.event
    return Status(200 if outcome.replayed else 201, {
        "id": event.pk, "member_id": event.member_id, "type": event.type, "occurred_at": event.occurred_at,
        "points": event.points, "replayed": outcome.replayed,
        "campaigns": [{"campaign": d.campaign.reference, "points": d.granted, "explanation": d.explain()}
                      for d in outcome.decisions],
    })
