"""Credentials for integrations, the record of idempotent requests, the periodic scheduler's claims and the
programme settings."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Scopes an API key may carry. Staff sessions are checked against Django permissions instead.
SCOPES = {
    "members:read": _("Read members"),
    "members:write": _("Create and update members"),
    "ledger:read": _("Read balances and history"),
    "ledger:write": _("Accrue, spend, hold, reverse and adjust points"),
    "purchases:read": _("Evaluate carts and read orders"),
    "purchases:write": _("Place orders, change their status, return them, import purchases"),
    "catalog:read": _("Read the catalogue"),
    "catalog:write": _("Create and update products and product groups"),
    "events:write": _("Record member events"),
    "campaigns:read": _("Read campaigns"),
    "campaigns:write": _("Create, change and run campaigns"),
    "analytics:read": _("Read analytics"),
    "reference:read": _("Read the reference books: tags, eligibility flags, event types, point categories, "
                        "reason codes"),
    "reference:write": _("Create and change entries of the reference books"),
    "programme:read": _("Read the programme settings"),
    "programme:write": _("Change the programme settings (administrators)"),
    "webhooks:write": _("Read and manage webhook endpoints, their secrets and deliveries (administrators)"),
}


def hash_secret(secret: str) -> str:
    """Keys are 256-bit random tokens, so a plain SHA-256 is a safe one-way digest for them."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKey(models.Model):
    """An integration's credential. The secret is shown once at creation; only its digest is stored."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        # Staff sessions reach the API through these permissions, one per scope ("members:read" → members_read).
        permissions = [(scope.replace(":", "_"), label) for scope, label in SCOPES.items()]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @classmethod
    def issue(cls, name: str, scopes: list[str]) -> tuple["ApiKey", str]:
        """Create a key; returns it with the full token `kpk_<prefix>_<secret>` that the caller must keep."""
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown:
            from kopilka.core.errors import ValidationFailed

            raise ValidationFailed(
                _("Unknown scopes: %(scopes)s") % {"scopes": ", ".join(unknown)},
                details={"unknown_scopes": unknown, "known_scopes": sorted(SCOPES)},
            )
        key = cls(name=name, scopes=sorted(scopes))
        token = key.new_token()
        key.save()
        return key, token

    def new_token(self) -> str:
        """Give the key a new prefix and secret (not saved yet); returns the token, which exists only now."""
        self.prefix = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        self.secret_hash = hash_secret(secret)
        return f"kpk_{self.prefix}_{secret}"

    @property
    def actor(self) -> str:
        return f"apikey:{self.name}"


class IdempotencyRecord(models.Model):
    """The first answer to a write, kept so that a replay with the same key gets exactly that answer.

    Invariant: (principal, key) is unique; a record is either in progress (response_status is null) or completed.
    """

    principal = models.CharField(max_length=150)
    key = models.CharField(max_length=200)
    endpoint = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["principal", "key"], name="idempotency_unique_key")]
        indexes = [models.Index(fields=["created_at"])]


class PeriodicRun(models.Model):
    """The claim on one slot of one periodic job (see `core.scheduling`). Invariant: (job, slot) is unique."""

    job = models.CharField(_("job"), max_length=100)
    slot = models.DateTimeField(_("slot"))
    enqueued_at = models.DateTimeField(_("enqueued at"), default=timezone.now)
    worker_id = models.CharField(_("worker"), max_length=64)
    task_result_id = models.CharField(_("task result"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("periodic run")
        verbose_name_plural = _("periodic runs")
        ordering = ["-slot", "job"]
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="periodic_run_once_per_slot")]

    def __str__(self) -> str:
        return f"{self.job} @ {self.slot.isoformat()}"


class ProgrammeSettings(models.Model):
    """The one row of programme settings saved on the administrator's screen (see `core.programme`); an empty
    field means "as the environment says"."""

    SINGLETON = 1

    class RedemptionOrder(models.TextChoices):
        CATEGORY_FIFO = "category_fifo", _("promo, then compensation, then base points; oldest first")
        SOONEST_EXPIRING = "soonest_expiring", _("the points that expire soonest first")

    class ReturnPolicy(models.TextChoices):
        TAKE_AVAILABLE = "take_available", _("take back what is left, forgive what was spent")
        NEGATIVE = "negative", _("book what was spent as a debt")
        BLOCK = "block", _("refuse the return's reversal when points were spent")

    time_zone = models.CharField(_("time zone"), max_length=60, blank=True)
    redemption_order = models.CharField(_("redemption order"), max_length=20, blank=True,
                                        choices=RedemptionOrder.choices)
    return_policy = models.CharField(_("return policy"), max_length=20, blank=True, choices=ReturnPolicy.choices)
    receipt_cap_percent = models.DecimalField(_("points pay at most, percent of a receipt"), max_digits=5,
                                              decimal_places=2, null=True, blank=True)
    default_lot_lifetime_days = models.PositiveIntegerField(_("points live, days (unless a campaign says)"),
                                                            null=True, blank=True)
    point_value = models.DecimalField(_("1 point pays, ₽ (unless a campaign says)"), max_digits=8, decimal_places=2,
                                      null=True, blank=True)
    line_cap_percent = models.DecimalField(_("points pay at most, percent of a line"), max_digits=5, decimal_places=2,
                                           null=True, blank=True)
    backdating_days = models.PositiveIntegerField(_("a receipt may be dated back, days"), null=True, blank=True)
    partner_point_value = models.DecimalField(_("1 point pays for a partner product, ₽"), max_digits=8,
                                              decimal_places=2, null=True, blank=True)
    partner_cap_percent = models.DecimalField(_("points pay at most, percent of a partner product"), max_digits=5,
                                              decimal_places=2, null=True, blank=True)
    quiet_hours = models.CharField(_("quiet hours for marketing messages, e.g. 21:00-09:00"), max_length=11,
                                   blank=True)
    marketing_cap_messages = models.PositiveIntegerField(_("a member gets at most this many marketing messages"),
                                                         null=True, blank=True)
    marketing_cap_days = models.PositiveIntegerField(_("per channel in this many days"), null=True, blank=True)
    public_url = models.CharField(_("public address of the platform (links in messages)"), max_length=200,
                                  blank=True)
    control_group_percent = models.DecimalField(_("global control group, percent of the members"), max_digits=5,
                                                decimal_places=2, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = _("programme settings")
        verbose_name_plural = _("programme settings")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)


class AuditEvent(models.Model):
    """One change made through any door (back office, API, CLI, the platform itself), or a read of a member's
    personal data by staff: who, when, what, on which member or record, and why. Written by `audit.record` inside
    the transaction of the change it describes; append-only."""

    at = models.DateTimeField(_("when"), db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, null=True, related_name="+"
    )
    actor = models.CharField(_("who"), max_length=150)  # kept as written, even if the account is renamed
    action = models.CharField(_("action"), max_length=60, db_index=True)
    member_id = models.BigIntegerField(_("member"), null=True, blank=True)  # no foreign key: core knows no members
    target = models.CharField(_("record"), max_length=120, blank=True)  # e.g. "ledger.entry:42"
    summary = models.CharField(_("summary"), max_length=300)
    comment = models.TextField(_("comment"), blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["member_id", "-at"], name="audit_event_member")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor}: {self.summary}"


class OutboxEvent(models.Model):
    """Something that happened, written by `outbox.record` in the transaction of the change it tells of, so the
    event and the change commit or vanish together. `type` is dotted ("member.updated"), `subject` names the record
    ("member:12"), `payload` is what a receiver is told. An event with a `key` is recorded once per key (events
    built afterwards from other records). `dispatched_at` is set once the event has been handed to its readers."""

    type = models.CharField(_("event type"), max_length=60)
    subject = models.CharField(_("about"), max_length=120)
    payload = models.JSONField(_("data"), default=dict)
    occurred_at = models.DateTimeField(_("occurred at"))
    key = models.CharField(max_length=120, null=True, blank=True, unique=True)  # noqa: DJ001
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-id"]
        indexes = [models.Index(fields=["id"], condition=models.Q(dispatched_at__isnull=True),
                                name="outbox_event_waiting")]

    def __str__(self) -> str:
        return f"{self.type} {self.subject}"
