"""Messages to members (SPEC §8): one outbox and delivery log for every channel. A notice is recorded once per
(kind, source) and sent by the worker.

Invariants: a message is `queued` until the worker sends it (`sent`) or gives up (`failed`, with the last error);
a channel that reports deliveries moves a sent message to `delivered` (or to `failed` with the provider's error).
A message that must not go out is `skipped` with its reason (`skip_reason`: no address, no consent, unsubscribed,
frequency cap ...), recorded and never sent; one due in quiet hours stays queued until they end (`next_try_at`).
A try that fails leaves the message queued with the error and the moment of its next try (`next_try_at`, pauses
growing from a minute to an hour); it is failed only when no try is left within `services.RETRY_FOR` of its
first try (a wait before it, in quiet hours or at a mailing's pace, takes nothing from its tries). A worker sends
only a message it holds (a lease: `leased_by` until `lease_until`), claimed again right before the send, and a
send is cut off before that lease runs out, so two workers never send the same message at once; every send is an
`Attempt`. A message keeps one `Message-ID` for all its tries, so a repeat after a crash
between the server's acceptance and the record can be dropped by the receiver.
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kopilka.communications.cursor_models import SettledCursor
from kopilka.customers.models import Member


class Message(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENT = "sent", _("sent")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("skipped")

    class Channel(models.TextChoices):
        EMAIL = "email", _("e-mail")
        SMS = "sms", _("SMS")

    class Purpose(models.TextChoices):
        TRANSACTIONAL = "transactional", _("transactional")
        MARKETING = "marketing", _("marketing")

    class SkipReason(models.TextChoices):
        NO_ADDRESS = "no_address", _("no address")
        NOT_A_PHONE = "not_a_phone", _("not a phone number")
        NO_CONSENT = "no_consent", _("no consent")
        UNSUBSCRIBED = "unsubscribed", _("unsubscribed")
        FREQUENCY_CAP = "frequency_cap", _("frequency cap reached")
        MEMBER_ERASED = "member_erased", _("member erased")
        TOO_LATE = "too_late", _("too late")

    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="messages")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    purpose = models.CharField(_("purpose"), max_length=13, choices=Purpose.choices, default=Purpose.TRANSACTIONAL)
    kind = models.CharField(_("notice"), max_length=40)
    source = models.CharField(_("what it is about"), max_length=120)  # e.g. "compensation:12"
    to = models.CharField(_("to"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    skip_reason = models.CharField(_("why skipped"), max_length=20, choices=SkipReason.choices, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    provider_id = models.CharField(_("provider's message id"), max_length=100, blank=True)
    unsubscribe_url = models.CharField(max_length=500, blank=True)  # the marketing e-mail's one-click address
    uid = models.UUIDField(_("message id"), default=uuid.uuid4, unique=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True)
    leased_by = models.CharField(max_length=32, blank=True)
    next_try_at = models.DateTimeField(_("next try at"), null=True, blank=True)  # None: at once
    relevant_until = models.DateTimeField(_("relevant until"), null=True, blank=True)  # None: always

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["kind", "source"], name="message_once_per_source")]
        indexes = [
            models.Index(fields=["member", "-created_at"], name="message_member"),
            models.Index(fields=["id"], condition=models.Q(status="queued"), name="message_queued"),
            models.Index(fields=["member", "channel", "-created_at"], condition=models.Q(purpose="marketing"),
                         name="message_marketing"),
            models.Index(fields=["provider_id"], condition=~models.Q(provider_id=""), name="message_provider_id"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.kind} → {self.member_id} ({self.status})"


class Attempt(models.Model):
    """One try at sending a message: started when its worker has claimed it again right before the send, finished
    with the outcome. An attempt left unfinished is a worker that died while it sent the message."""

    class Outcome(models.TextChoices):
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="tries")
    worker = models.CharField(_("worker"), max_length=32)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("sending attempt")
        verbose_name_plural = _("sending attempts")
        ordering = ["message", "started_at", "id"]

    def __str__(self) -> str:
        return f"{self.message_id} @ {self.started_at:%Y-%m-%d %H:%M:%S} {self.outcome or '…'}"


class MessageTemplate(models.Model):
    """A message's text in Russian and English, with variables (`templating.variables`). Marketing templates go
    only to members who consented and are not in a control group; transactional ones (notices) go regardless of
    marketing rules, and may have a relevance window: a message not sent within it is not sent at all.
    Invariant: the stored texts passed `templating.problems` when saved."""

    Channel = Message.Channel
    Purpose = Message.Purpose

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices, default=Purpose.MARKETING)
    subject_ru = models.CharField(_("subject (Russian)"), max_length=200, blank=True)
    body_ru = models.TextField(_("text (Russian)"))
    subject_en = models.CharField(_("subject (English)"), max_length=200, blank=True)
    body_en = models.TextField(_("text (English)"), blank=True)
    relevance_hours = models.PositiveIntegerField(_("relevant for, hours"), null=True, blank=True)
    updated_at = models.DateTimeField(_("changed at"))
    updated_by = models.CharField(_("changed by"), max_length=150)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"

    def texts(self, language: str) -> tuple[str, str]:
        """(subject, text) in `language`; the Russian ones where the English are empty."""
        if language.startswith("en") and self.body_en.strip():
            return self.subject_en, self.body_en
        return self.subject_ru, self.body_ru


class SmsProvider(models.Model):
    """The SMS provider's HTTP interface, as the administrator describes it (one row): where and how a message is
    sent, how the answer says it was accepted and under which id, and how its delivery reports are read.

    Secrets (the token or password of the request, the delivery reports' shared secret) are never shown back; the
    reports' secret is kept only as its SHA-256 digest."""

    SINGLETON = 1

    class Method(models.TextChoices):
        POST = "POST", "POST"
        GET = "GET", "GET"

    class BodyFormat(models.TextChoices):
        JSON = "json", _("JSON")
        FORM = "form", _("form fields")

    class Auth(models.TextChoices):
        NONE = "none", _("none")
        HEADER = "header", _("a header with a token")
        BASIC = "basic", _("user name and password (basic)")

    class ReportId(models.TextChoices):
        OURS = "ours", _("our message id (the client reference)")
        PROVIDERS = "providers", _("the provider's message id")

    name = models.CharField(_("provider"), max_length=60)
    url = models.URLField(_("address of the send request"), max_length=300)
    method = models.CharField(_("method"), max_length=4, choices=Method.choices, default=Method.POST)
    body_format = models.CharField(_("body"), max_length=4, choices=BodyFormat.choices, default=BodyFormat.JSON)
    to_field = models.CharField(_("field of the phone number"), max_length=60, default="to")
    text_field = models.CharField(_("field of the text"), max_length=60, default="text")
    sender_field = models.CharField(_("field of the sender name"), max_length=60, blank=True)
    sender = models.CharField(_("sender name"), max_length=60, blank=True)
    reference_field = models.CharField(_("field of our message id"), max_length=60, blank=True)
    extra_fields = models.JSONField(_("fixed fields sent with every message"), default=dict, blank=True)
    auth = models.CharField(_("authentication"), max_length=6, choices=Auth.choices, default=Auth.NONE)
    auth_header = models.CharField(_("header name"), max_length=60, blank=True, default="Authorization")
    auth_user = models.CharField(_("user name"), max_length=100, blank=True)
    auth_secret = models.CharField(_("token or password"), max_length=300, blank=True)
    success_field = models.CharField(_("field of the answer that says it was accepted"), max_length=100,
                                     blank=True)
    success_value = models.CharField(_("its value when accepted"), max_length=60, blank=True)
    id_field = models.CharField(_("field of the answer with the provider's message id"), max_length=100,
                                blank=True)
    timeout_seconds = models.PositiveSmallIntegerField(_("timeout, seconds"), default=10)
    report_secret_digest = models.CharField(max_length=64, blank=True)
    report_id_field = models.CharField(_("field of the report with the message id"), max_length=100,
                                       default="id")
    report_id = models.CharField(_("which id the report carries"), max_length=9, choices=ReportId.choices,
                                 default=ReportId.PROVIDERS)
    report_status_field = models.CharField(_("field of the report with the status"), max_length=100,
                                           default="status")
    delivered_values = models.CharField(_("statuses that mean delivered (comma-separated)"), max_length=200,
                                        default="delivered")
    failed_values = models.CharField(_("statuses that mean not delivered (comma-separated)"), max_length=200,
                                     default="failed,undelivered,rejected,expired")
    report_error_field = models.CharField(_("field of the report with the error"), max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = _("SMS provider")
        verbose_name_plural = _("SMS provider")

    def __str__(self) -> str:
        return self.name


class Endpoint(models.Model):
    """A receiver of webhooks: an address, the event types it is sent, its signing secrets (`EndpointSecret`).

    Invariants: the address is public (no loopback, private, link-local or other non-public address) unless
    `allow_private` says otherwise, checked at every save and every send; a disabled endpoint is sent nothing and
    says why; `failing_since` is the first failed try since its last delivered one (None: not failing)."""

    url = models.URLField(_("address"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    event_types = models.JSONField(_("event types"), default=list)
    is_enabled = models.BooleanField(_("enabled"), default=True)
    disabled_reason = models.CharField(_("why it is disabled"), max_length=300, blank=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    allow_private = models.BooleanField(_("allow private addresses"), default=False)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("changed at"))

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["id"]
        permissions = [
            ("manage_webhooks", _("Manage webhooks")),
            ("allow_private_webhook_addresses", _("Allow webhooks to private addresses")),
        ]

    def __str__(self) -> str:
        return self.url


class EndpointSecret(models.Model):
    """A signing secret of an endpoint (`whsec_` and base64 of 32 random bytes). Every secret not yet retired signs
    each request, so a receiver rotating its secret accepts either; a rotated-out secret retires at `retires_at`."""

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="secrets")
    secret = models.CharField(max_length=80)
    created_at = models.DateTimeField(_("created at"))
    retires_at = models.DateTimeField(_("retires at"), null=True, blank=True)  # None: in use until rotated

    class Meta:
        ordering = ["endpoint", "id"]

    def __str__(self) -> str:
        return f"{self.secret[:10]}…"


class Delivery(models.Model):
    """One event for one endpoint. Its `uid` is the request's `webhook-id`: the same on every try and on a replay.

    Invariants: `pending` until a try is answered with 2xx (`delivered`) or no try is left within the retry window
    counted from `window_from` (`failed`); sent only by the worker holding its claim (`leased_by` until
    `lease_until`); every try is a `DeliveryAttempt`."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("delivery", "pending")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey("core.OutboxEvent", on_delete=models.PROTECT, related_name="+")
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("tries"), default=0)
    error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"))
    window_from = models.DateTimeField()  # the retry window starts here: the delivery's creation or its replay
    next_try_at = models.DateTimeField(_("next try at"), null=True, blank=True)  # None: at once
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    leased_by = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "event"], name="delivery_once_per_endpoint")]
        indexes = [models.Index(fields=["id"], condition=models.Q(status="pending"), name="delivery_pending"),
                   models.Index(fields=["endpoint", "-id"], name="delivery_endpoint")]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"

    @property
    def webhook_id(self) -> str:
        return f"msg_{self.uid.hex}"


class DeliveryAttempt(models.Model):
    """One try at a delivery: the answer's status code and its first bytes, or the error, and how long it took.
    An attempt left unfinished is a worker that died while it sent."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="tries")
    worker = models.CharField(_("worker"), max_length=32)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    response = models.TextField(_("answer"), blank=True)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration, ms"), null=True, blank=True)

    class Meta:
        ordering = ["delivery", "started_at", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.started_at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error[:40]}"


class EntryCursor(SettledCursor):
    """How far the ledger's entries have been turned into events (one row): every entry with id ≤ `position` is
    an event or never will be one. Entries above it may be events already (recorded once per entry)."""


# The mailings and the monthly plan keep their models in their own modules; imported here so that Django finds them.
# Trigger journeys keep their models in their own package; imported here so that the app has them.
from kopilka.communications.journeys.models import (  # noqa: E402, F401
    Journey,
    JourneyCursor,
    JourneySegmentMember,
    JourneyState,
    JourneyStep,
    JourneyVersion,
)
from kopilka.communications.mailings.models import (  # noqa: E402, F401
    Mailing,
    MailingRecipient,
    MailingVariant,
    MessageEvent,
)
from kopilka.communications.monthly_plan.models import PlanMechanic  # noqa: E402, F401
from kopilka.communications.notice_models import (  # noqa: E402, F401 - the notices' models, kept in their own module
    CampaignNoticeRun,
    ExpiringRead,
    NoticeCursor,
    NoticeSetting,
)

