"""What the back office records beyond the ledger: compensation limits and requests, widget links (the audit log
is core's).

Invariants:
- a compensation request is `granted` (within the requester's limits, booked at once), `pending` (waiting for a
  senior agent), `approved` (booked on approval) or `rejected`; a booked request names its ledger entry;
- a widget link's secret is stored only as its SHA-256; a link works until it expires or is revoked, never longer.
"""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils.translation import gettext_lazy as _

from kopilka.customers.models import Member
from kopilka.ledger.models import Entry


class CompensationLimit(models.Model):
    """How many compensation points a role may grant alone: per operation and per (programme-time) day, and how
    large a waiting request it may approve. Roles without a row grant nothing alone (every grant of theirs waits
    for approval) and approve nothing."""

    role = models.OneToOneField(Group, verbose_name=_("role"), on_delete=models.CASCADE, related_name="+")
    per_operation = models.PositiveIntegerField(_("points per operation"))
    per_day = models.PositiveIntegerField(_("points per day"))
    approve_up_to = models.PositiveIntegerField(
        _("approves requests up to, points"), null=True, blank=True,
        help_text=_("Empty: approves requests of any size (if the role may approve at all)."))

    class Meta:
        verbose_name = _("compensation limit")
        verbose_name_plural = _("compensation limits")

    def __str__(self) -> str:
        return f"{self.role}: {self.per_operation} / {self.per_day}"


class CompensationRequest(models.Model):
    class Status(models.TextChoices):
        GRANTED = "granted", _("granted at once")
        PENDING = "pending", _("waiting for approval")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    # The confirmation form's token: sending the same form twice makes one request.
    key = models.CharField(max_length=64, unique=True)
    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="+")
    points = models.PositiveIntegerField(_("points"))
    reason_code = models.CharField(_("reason"), max_length=40)
    comment = models.TextField(_("comment"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_comment = models.TextField(_("decision comment"), blank=True)
    entry = models.OneToOneField(
        Entry, verbose_name=_("ledger entry"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("compensation")
        verbose_name_plural = _("compensations")
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(fields=["requested_by", "requested_at"], name="compensation_by_user"),
            models.Index(fields=["status"], condition=models.Q(status="pending"), name="compensation_pending"),
        ]
        permissions = [
            ("use_support_console", _("Use the support console")),
            ("grant_compensation", _("Grant compensation points")),
            ("approve_compensation", _("Approve compensation above the limit")),
            ("spend_points", _("Spend a member's points")),
            ("burn_lot", _("Burn a lot")),
            ("reverse_entry", _("Reverse an accrual")),
            ("view_audit_log", _("Read the audit log")),
        ]

    def __str__(self) -> str:
        return f"{self.points} → {self.member_id} ({self.status})"


class WidgetLink(models.Model):
    """A link that shows one part of an analytics page to whoever holds it, made by a person, until it expires or is
    revoked."""

    kind = models.CharField(_("page"), max_length=30)
    params = models.JSONField(_("parameters"), default=dict)
    part = models.CharField(_("part"), max_length=60)
    secret_sha256 = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("made by"), on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("made at"))
    expires_at = models.DateTimeField(_("expires at"))
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("revoked by"), on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("widget link")
        verbose_name_plural = _("widget links")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} / {self.part} ({self.created_at:%Y-%m-%d})"
