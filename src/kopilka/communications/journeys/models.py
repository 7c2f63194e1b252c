"""Trigger journeys: a journey, its versions (the steps as a graph), each member's visit and the steps it took.

Invariants: a journey's graph is a version, never changed once a member entered it — a change then is a new
version, and members already inside finish on the version they entered (`JourneyState.version`). A visit is one
member's way through one version, entered once per entry key (`entry_key`: what brought them in, e.g. the order
paid); a member has at most one open visit (active or waiting) of a journey, and, unless the journey allows
re-entry, one visit ever. A visit held out at entry (the journey's holdout or the programme's control group) stays
`held_out` and takes no step. A step is taken once per visit (`JourneyStep` is unique per visit and step),
written in the transaction that moves the visit on, together with what the step wrote (messages, points, tags). A
counted purchase is the journey's (the monthly plan's fact) within `attribution_days` of a visit's entry, and of a
send of one of its messages.
"""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from kopilka.communications.cursor_models import SettledCursor
from kopilka.customers.models import Member

OPEN = ("active", "waiting")


class Journey(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        LIVE = "live", _("live")
        PAUSED = "paused", _("paused")
        FINISHED = "finished", _("finished")

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    trigger = models.JSONField(_("entry"), default=dict)  # `graph.parse_trigger`
    reentry = models.BooleanField(_("may enter again"), default=False)
    holdout_percent = models.DecimalField(
        _("held out, %"), max_digits=5, decimal_places=2, default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(50))])
    attribution_days = models.PositiveSmallIntegerField(
        _("attribution window, days"), default=14, validators=[MinValueValidator(1), MaxValueValidator(90)])
    live_since = models.DateTimeField(_("live since"), null=True, blank=True)  # events before it enter nobody
    checked_at = models.DateTimeField(_("members last looked for"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("changed at"))
    updated_by = models.CharField(_("changed by"), max_length=150)

    class Meta:
        verbose_name = _("journey")
        verbose_name_plural = _("journeys")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"

    def current_version(self) -> "JourneyVersion":
        return self.versions.order_by("-number").first()


class JourneyVersion(models.Model):
    """The steps of a journey as they were from `created_at` on (`graph.parse_graph`)."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="versions",
                                db_index=False)  # journey_version_number leads with it
    number = models.PositiveIntegerField(_("version"))
    graph = models.JSONField(_("steps"))
    created_at = models.DateTimeField(_("created at"))
    created_by = models.CharField(_("created by"), max_length=150)

    class Meta:
        verbose_name = _("journey version")
        verbose_name_plural = _("journey versions")
        ordering = ["journey", "-number"]
        constraints = [models.UniqueConstraint(fields=["journey", "number"], name="journey_version_number")]

    def __str__(self) -> str:
        return f"{self.journey_id} v{self.number}"


class JourneyState(models.Model):
    """One member's visit of a journey: where they are (`step`), and when the worker looks at them next (`wake_at`).
    `waits_for` is the event a waiting step listens for; `event_at` when it came (None: not yet)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        WAITING = "waiting", _("waiting")
        DONE = "done", _("done")
        EXITED = "exited", _("exited")
        HELD_OUT = "held_out", _("held out")

    class HeldOutBy(models.TextChoices):
        JOURNEY = "journey", _("the journey's holdout")
        CONTROL_GROUP = "control_group", _("the programme's control group")

    # Checked per statement, not per row (migration 0014): a version of this journey.
    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="states", db_index=False,
                                db_constraint=False)  # journey_state_entry_once leads with it
    version = models.ForeignKey(JourneyVersion, on_delete=models.PROTECT, related_name="states", db_constraint=False)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="journey_states")
    entry_key = models.CharField(_("entered by"), max_length=80)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    held_out_by = models.CharField(_("held out by"), max_length=15, choices=HeldOutBy.choices, blank=True)
    step = models.CharField(_("step"), max_length=40, blank=True)
    step_since = models.DateTimeField(_("at the step since"))
    wake_at = models.DateTimeField(_("next look"), null=True, blank=True)
    waits_for = models.CharField(_("waits for"), max_length=60, blank=True)
    event_at = models.DateTimeField(_("the event came at"), null=True, blank=True)
    entered_at = models.DateTimeField(_("entered at"))
    left_at = models.DateTimeField(_("left at"), null=True, blank=True)

    class Meta:
        verbose_name = _("journey visit")
        verbose_name_plural = _("journey visits")
        constraints = [
            models.UniqueConstraint(fields=["journey", "member", "entry_key"], name="journey_state_entry_once"),
            models.UniqueConstraint(fields=["journey", "member"], condition=models.Q(status__in=OPEN),
                                    name="journey_state_one_open"),
        ]
        indexes = [
            models.Index(fields=["wake_at"], condition=models.Q(status__in=OPEN), name="journey_state_due"),
            models.Index(fields=["version", "step", "id"], condition=models.Q(status__in=OPEN),
                         name="journey_state_at_step"),
            models.Index(fields=["member", "waits_for"], condition=models.Q(status="waiting"),
                         name="journey_state_waiting"),
        ]

    def __str__(self) -> str:
        return f"{self.journey_id}:{self.member_id} {self.step or '—'} ({self.status})"


class JourneyStep(models.Model):
    """A step a visit took: when, and how it went (`outcome`: the exit taken, e.g. "yes", "timeout", "path-2";
    `points` granted by a reward step, `refused` the points its campaigns' budgets or limits did not grant). A send
    step's message is the one of source `message_source(visit, step)`."""

    state = models.ForeignKey(JourneyState, on_delete=models.CASCADE, related_name="steps",
                              db_index=False)  # journey_step_once leads with it
    step = models.CharField(_("step"), max_length=40)
    outcome = models.CharField(_("outcome"), max_length=40, blank=True)
    points = models.BigIntegerField(_("points granted"), null=True, blank=True)
    refused = models.BigIntegerField(_("points refused"), null=True, blank=True)
    taken_at = models.DateTimeField(_("taken at"))

    class Meta:
        verbose_name = _("journey step taken")
        verbose_name_plural = _("journey steps taken")
        ordering = ["state", "taken_at", "id"]
        constraints = [models.UniqueConstraint(fields=["state", "step"], name="journey_step_once")]

    def __str__(self) -> str:
        return f"{self.state_id}:{self.step} {self.outcome}"


class JourneySegmentMember(models.Model):
    """A member who matched a segment journey's conditions at its last look: who matches now and is not here
    enters."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="+",
                                db_index=False)  # journey_segment_member leads with it
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["journey", "member"], name="journey_segment_member")]


class JourneyCursor(SettledCursor):
    """How far a source of rows has been read by the journeys' passes (`settled_cursor`), one row per `source`:
    "outbox" and "member_events", read for entries and waits (`events`); "steps", the steps taken, turned into
    `journey.step` events (`step_events`)."""

    source = models.CharField(max_length=20, unique=True)


MESSAGE_KIND = "journey"  # the `Message.kind` of a journey's messages
SOURCE_PREFIX = "journey:"  # what a journey message's source starts with, before its visit's id


def message_source(state_id: int, step: str) -> str:
    """The `Message.source` of the message a visit's send step wrote (of kind MESSAGE_KIND)."""
    return f"{SOURCE_PREFIX}{state_id}:{step}"
