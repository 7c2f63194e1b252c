"""Communications over HTTP: webhook endpoints with their secrets and deliveries, journeys and their lifecycle,
mailings with their progress and results. Every change goes through the communications services, which validate,
refuse and audit it; this module only translates.

Webhooks need `webhooks:write` (reads too: an endpoint's deliveries carry the events' data); journeys and mailings
are read with `campaigns:read`, a journey moved with `campaigns:write`. Writes take an `Idempotency-Key`. A secret
(`whsec_…`) is in the answer to the write that made it — creating an endpoint or rotating its secret — and in no
read; a replay of that write with its key gives the same answer. An API key never allows private addresses.
"""

from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from kopilka.analytics.measures import incrementality as stats
from kopilka.api.auth import scoped
from kopilka.api.common import ERRORS, IdempotencyKey, code_path, length_of
from kopilka.api.idempotency import idempotent_write
from kopilka.communications import webhook_endpoints
from kopilka.communications.journeys import results as journey_results
from kopilka.communications.journeys import selectors as journey_selectors
from kopilka.communications.journeys import services as journeys
from kopilka.communications.journeys.graph import parse_graph
from kopilka.communications.journeys.models import Journey
from kopilka.communications.mailings import results as mailing_results
from kopilka.communications.mailings import services as mailings
from kopilka.communications.mailings.models import Mailing
from kopilka.communications.models import Delivery, Endpoint
from kopilka.core.models import OutboxEvent

router = Router(tags=["communications"])

WEBHOOKS = "webhooks:write"
READ = "campaigns:read"
WRITE = "campaigns:write"
EventType = Annotated[str, Field(max_length=length_of(OutboxEvent, "type"))]
MOST_DELIVERIES = 200
JourneyAction = Literal["start", "pause", "resume", "finish"]


class EndpointIn(Schema):
    url: str = Field(max_length=webhook_endpoints.URL_LENGTH)
    event_types: list[EventType] = Field(max_length=len(webhook_endpoints.EVENT_TYPES),
                                   description="Of: " + ", ".join(webhook_endpoints.EVENT_TYPES))
    description: str = Field("", max_length=length_of(Endpoint, "description"))
    allow_private: bool = Field(False, description="Staff holding the right only; an API key is refused.")


class EndpointPatch(Schema):
    url: str | None = Field(None, max_length=webhook_endpoints.URL_LENGTH)
    event_types: list[EventType] | None = Field(None, max_length=len(webhook_endpoints.EVENT_TYPES))
    description: str | None = Field(None, max_length=length_of(Endpoint, "description"))
    is_enabled: bool | None = None


class EndpointOut(Schema):
    id: int
    url: str
    description: str
    event_types: list[str]
    is_enabled: bool
    disabled_reason: str
    disabled_at: datetime | None
    allow_private: bool
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime


class EndpointWithSecretOut(EndpointOut):
    secret: str = Field(description="The new signing secret: shown in this answer only.")


class TryOut(Schema):
    started_at: datetime
    finished_at: datetime | None
    status_code: int | None
    error: str
    duration_ms: int | None


class DeliveryOut(Schema):
    id: int
    webhook_id: str
    event_id: int
    event_type: str
    status: str
    attempts: int
    status_code: int | None = Field(description="The answer's status code of the last try (None: no answer).")
    error: str
    created_at: datetime
    next_try_at: datetime | None
    delivered_at: datetime | None
    tries: list[TryOut]


class StepOut(Schema):
    id: str
    kind: str
    title: str
    waiting: int = Field(description="Members at the step now (every version).")
    passed: int = Field(description="Members who took the step.")


class VisitsOut(Schema):
    entered: int
    inside: int
    done: int
    exited: int
    held_out_journey: int
    held_out_control_group: int


class JourneyOut(Schema):
    code: str
    name: str
    status: str
    trigger: dict[str, Any]
    reentry: bool
    holdout_percent: Decimal
    attribution_days: int
    live_since: datetime | None
    updated_at: datetime
    updated_by: str
    version: int


class JourneyDetailOut(JourneyOut):
    graph: dict[str, Any] = Field(description="The current version's steps as stored.")
    steps: list[StepOut]
    visits: VisitsOut


class VariantOut(Schema):
    label: str
    template: str
    share: int


class MailingOut(Schema):
    id: int
    name: str
    channel: str
    status: str
    send_at: datetime | None
    audience: int
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    variants: list[VariantOut]


class ProgressOut(Schema):
    status: str
    progress: int = Field(description="Percent of the whole: writing the messages is its first tenth.")
    to_write: int
    written: int
    done: int
    by_status: dict[str, int]


class MailingDetailOut(MailingOut):
    problem: str
    progress: ProgressOut


class GroupOut(Schema):
    group: str = Field(description="A variant's label (A, B …), held_out or programme_group.")
    members: int
    sent: int
    delivered: int
    opened: int
    clicked: int
    converted: int
    revenue: Decimal


class ResultsOut(Schema):
    since: datetime | None
    until: datetime | None
    groups: list[GroupOut]


class UpliftOut(Schema):
    difference: float = Field(description="Conversion minus the held out's, a fraction of 1.")
    low: float
    high: float = Field(description="The 95 % interval (a split's paths: Bonferroni-corrected over its paths).")


class JourneyGroupOut(Schema):
    group: str = Field(description="exposed, held_out, or a split's path as <step>:<outcome>.")
    members: int = Field(description="Entries (a member who entered again counts once per entry).")
    converted: int
    revenue: Decimal
    accrued: int
    spent: int
    burned: int
    uplift: UpliftOut | None = Field(description="Of conversion over the held out; none for the held out.")


class JourneyResultsOut(Schema):
    until: datetime
    attribution_days: int
    holdout_percent: Decimal
    programme_group: int = Field(description="Entries the programme's control group kept out of both groups.")
    groups: list[JourneyGroupOut]


def _endpoint_out(endpoint: Endpoint) -> dict:
    return {name: getattr(endpoint, name) for name in EndpointOut.model_fields}


def _delivery_out(delivery: Delivery) -> dict:
    tries = list(delivery.tries.all())
    return {
        "id": delivery.pk, "webhook_id": delivery.webhook_id, "event_id": delivery.event_id,
        "event_type": delivery.event.type, "status": delivery.status, "attempts": delivery.attempts,
        "status_code": tries[-1].status_code if tries else None, "error": delivery.error,
        "created_at": delivery.created_at, "next_try_at": delivery.next_try_at, "delivered_at": delivery.delivered_at,
        "tries": [{name: getattr(t, name) for name in TryOut.model_fields} for t in tries],
    }


def _journey_out(journey: Journey, detail: bool = False) -> dict:
    version = journey.current_version()
    out = {name: getattr(journey, name) for name in JourneyOut.model_fields if name != "version"}
    out["version"] = version.number
    if detail:
        counts = journey_selectors.step_counts(journey)
        graph = parse_graph(version.graph)
        out["graph"] = version.graph
        out["steps"] = [{"id": step.id, "kind": step.kind, "title": step.title,
                         "waiting": counts[step.id].waiting if step.id in counts else 0,
                         "passed": counts[step.id].passed if step.id in counts else 0}
                        for step in graph.steps.values()]
        out["visits"] = asdict(journey_selectors.visits(journey))
    return out


def _mailing_out(mailing: Mailing, detail: bool = False) -> dict:
    out = {name: getattr(mailing, name) for name in MailingOut.model_fields if name != "variants"}
    out["variants"] = [{"label": v.label, "template": v.template.code, "share": v.share}
                       for v in mailing.variants.all()]  # by position (the model's order)
    if detail:
        out["problem"] = mailing.problem
        out["progress"] = mailing_results.progress(mailing)
    return out


def _group_out(label: str, group: mailing_results.Group) -> dict:
    return {"group": label, **{name: getattr(group, name) for name in GroupOut.model_fields if name != "group"}}


# Webhook endpoints


@router.get("/webhooks", auth=scoped(WEBHOOKS), response={200: list[EndpointOut], **ERRORS})
def list_endpoints(request: HttpRequest):
    return [_endpoint_out(e) for e in Endpoint.objects.order_by("id")]


@router.post("/webhooks", auth=scoped(WEBHOOKS), response={201: EndpointWithSecretOut, **ERRORS})
def create_endpoint(request: HttpRequest, body: EndpointIn, idempotency_key: str | None = IdempotencyKey):
    """A new enabled endpoint and its first secret, which only this answer holds."""

    def work(principal):
        endpoint, secret = webhook_endpoints.create_endpoint(principal.user, actor=principal.actor, **body.model_dump())
        return 201, {**_endpoint_out(endpoint), "secret": secret}

    return idempotent_write(request, idempotency_key, "webhooks.create", body.model_dump(), work)


@router.patch("/webhooks/{int:endpoint_id}", auth=scoped(WEBHOOKS), response={200: EndpointOut, **ERRORS})
def change_endpoint(request: HttpRequest, endpoint_id: int, body: EndpointPatch,
                    idempotency_key: str | None = IdempotencyKey):
    """Changes the fields sent; the others stay. Enabling again clears the failing streak."""
    changes = body.model_dump(exclude_unset=True)

    def work(principal):
        found = webhook_endpoints.get_endpoint(endpoint_id)
        fields = {"url": found.url, "event_types": found.event_types, "description": found.description,
                  "is_enabled": found.is_enabled, "allow_private": found.allow_private}
        fields.update({name: value for name, value in changes.items() if value is not None})
        endpoint = webhook_endpoints.change_endpoint(principal.user, endpoint_id, actor=principal.actor, **fields)
        return 200, _endpoint_out(endpoint)

    payload = {"endpoint": endpoint_id, **changes}
    return idempotent_write(request, idempotency_key, "webhooks.change", payload, work)


@router.post("/webhooks/{int:endpoint_id}/rotate", auth=scoped(WEBHOOKS),
             response={200: EndpointWithSecretOut, **ERRORS})
def rotate_secret(request: HttpRequest, endpoint_id: int, idempotency_key: str | None = IdempotencyKey):
    """A new secret, in this answer only; the secrets in use keep signing for the rotation's overlap (24 hours)."""

    def work(principal):
        secret = webhook_endpoints.rotate_secret(principal.user, endpoint_id, actor=principal.actor)
        return 200, {**_endpoint_out(webhook_endpoints.get_endpoint(endpoint_id)), "secret": secret}

    return idempotent_write(request, idempotency_key, "webhooks.rotate", {"endpoint": endpoint_id}, work)


@router.post("/webhooks/{int:endpoint_id}/test", auth=scoped(WEBHOOKS), response={202: DeliveryOut, **ERRORS})
def send_test_event(request: HttpRequest, endpoint_id: int, idempotency_key: str | None = IdempotencyKey):
    """A `webhook.test` event for this endpoint alone, sent by the worker."""

    def work(principal):
        delivery = webhook_endpoints.send_test_event(principal.user, endpoint_id, actor=principal.actor)
        return 202, _delivery_out(delivery)

    return idempotent_write(request, idempotency_key, "webhooks.test", {"endpoint": endpoint_id}, work)


@router.get("/webhooks/{int:endpoint_id}/deliveries", auth=scoped(WEBHOOKS),
            response={200: list[DeliveryOut], **ERRORS})
def list_deliveries(request: HttpRequest, endpoint_id: int,
                    status: Literal["pending", "delivered", "failed"] | None = Query(None),
                    limit: int = Query(50, ge=1, le=MOST_DELIVERIES)):
    """The endpoint's deliveries, newest first, each with its tries."""
    found = webhook_endpoints.get_endpoint(endpoint_id).deliveries.select_related("event").prefetch_related("tries")
    found = found.order_by("-id")
    if status is not None:
        found = found.filter(status=status)
    return [_delivery_out(d) for d in found[:limit]]


@router.post("/webhooks/deliveries/{int:delivery_id}/replay", auth=scoped(WEBHOOKS),
             response={202: DeliveryOut, **ERRORS})
def replay_delivery(request: HttpRequest, delivery_id: int, idempotency_key: str | None = IdempotencyKey):
    """Sends the delivery again with the same webhook-id (its endpoint must be enabled)."""

    def work(principal):
        delivery = webhook_endpoints.replay(principal.user, delivery_id, actor=principal.actor)
        return 202, _delivery_out(delivery)

    return idempotent_write(request, idempotency_key, "webhooks.replay", {"delivery": delivery_id}, work)


@router.post("/webhooks/{int:endpoint_id}/events/{int:event_id}/replay", auth=scoped(WEBHOOKS),
             response={202: DeliveryOut, **ERRORS})
def replay_event(request: HttpRequest, endpoint_id: int, event_id: int,
                 idempotency_key: str | None = IdempotencyKey):
    """Sends the event again to the endpoint, as its delivery's replay (the same webhook-id)."""

    def work(principal):
        delivery = webhook_endpoints.delivery_of(endpoint_id, event_id)
        return 202, _delivery_out(webhook_endpoints.replay(principal.user, delivery.pk, actor=principal.actor))

    payload = {"endpoint": endpoint_id, "event": event_id}
    return idempotent_write(request, idempotency_key, "webhooks.replay_event", payload, work)


# Journeys


@router.get("/journeys", auth=scoped(READ), response={200: list[JourneyOut], **ERRORS})
def list_journeys(request: HttpRequest):
    return [_journey_out(j) for j in Journey.objects.order_by("code")]


@router.get("/journeys/{code}", auth=scoped(READ), response={200: JourneyDetailOut, **ERRORS})
def get_journey(request: HttpRequest, code: str = code_path(60)):
    """The journey, its current version's steps with the members at each and past it, and its visits."""
    return _journey_out(journeys.get_journey(code), detail=True)


@router.get("/journeys/{code}/results", auth=scoped(READ), response={200: JourneyResultsOut, **ERRORS})
def journey_results_of(request: HttpRequest, code: str = code_path(60)):
    """The entries that went through the journey, each path of its random splits and the held-out entries, each
    over the attribution window after entering, with the uplift of conversion over the held out."""
    found = journey_results.results(journeys.get_journey(code))
    control = (found.held_out.converted, found.held_out.members)

    def group(label: str, g, uplift: stats.ProportionUplift | None) -> dict:
        return {"group": label, "members": g.members, "converted": g.converted, "revenue": g.revenue,
                "accrued": g.accrued, "spent": g.spent, "burned": g.burned,
                "uplift": None if uplift is None else {"difference": uplift.difference, "low": uplift.low,
                                                        "high": uplift.high}}

    groups = [group("exposed", found.exposed, stats.proportion_uplift(found.exposed.converted,
                                                                      found.exposed.members, *control))]
    for step in dict.fromkeys(path.step for path in found.paths):
        paths = {f"{path.step}:{path.outcome}": path.group for path in found.paths if path.step == step}
        compared = stats.variants(control, {label: (g.converted, g.members) for label, g in paths.items()})
        groups += [group(label, g, compared[label]) for label, g in paths.items()]
    groups.append(group("held_out", found.held_out, None))
    return {"until": found.until, "attribution_days": found.days, "holdout_percent": found.share,
            "programme_group": found.programme_group, "groups": groups}


@router.post("/journeys/{code}/{action}", auth=scoped(WRITE), response={200: JourneyDetailOut, **ERRORS})
def move_journey(request: HttpRequest, action: JourneyAction, code: str = code_path(60),
                 idempotency_key: str | None = IdempotencyKey):
    """start (a draft), pause (a live one), resume (a paused one) or finish; any other move is 409."""

    def work(principal):
        journey = journeys.move_journey(code, action, user=principal.user, actor=principal.actor)
        return 200, _journey_out(journey, detail=True)

    payload = {"code": code, "action": action}
    return idempotent_write(request, idempotency_key, "journeys.move", payload, work)


# Mailings


@router.get("/mailings", auth=scoped(READ), response={200: list[MailingOut], **ERRORS})
def list_mailings(request: HttpRequest):
    found = Mailing.objects.prefetch_related("variants__template").order_by("-created_at", "-id")
    return [_mailing_out(m) for m in found]


@router.get("/mailings/{int:mailing_id}", auth=scoped(READ), response={200: MailingDetailOut, **ERRORS})
def get_mailing(request: HttpRequest, mailing_id: int):
    """The mailing, its status and how far its sending has gone."""
    found = mailings.get_mailing(mailing_id)
    return _mailing_out(Mailing.objects.prefetch_related("variants__template").get(pk=found.pk), detail=True)


@router.get("/mailings/{int:mailing_id}/results", auth=scoped(READ), response={200: ResultsOut, **ERRORS})
def mailing_results_of(request: HttpRequest, mailing_id: int):
    """Per group — each variant, the held-out members, the programme's control group — over the attribution window
    (none before the mailing starts)."""
    found = mailing_results.results(mailings.get_mailing(mailing_id))
    groups = [_group_out(chr(ord("A") + g.group), g) for g in found.variants]
    groups += [_group_out("held_out", found.held_out), _group_out("programme_group", found.programme_group)]
    return {"since": found.since, "until": found.until, "groups": groups}

