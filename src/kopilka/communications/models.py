"""Messages to members (SPEC §8): an outbox. A notice is recorded once per (kind, source) and sent by the worker.

Invariants: a message is `queued` until the worker sends it (`sent`) or gives up (`failed`, with the last error);
a member without an e-mail address or without e-mail consent in force gets `skipped` (recorded, never sent).
A try that fails leaves the message queued with the error and the moment of its next try (`next_try_at`, pauses
growing from a minute to an hour); it is failed only when no try is left within `services.RETRY_FOR` of its
recording. A worker sends only a message it holds (a lease: `leased_by` until `lease_until`), claimed again right
before the send, and a send is cut off before that lease runs out, so two workers never send the same message at
once; every send is an `Attempt`. A message keeps one `Message-ID` for all its tries, so a repeat after a crash
between the server's acceptance and the record can be dropped by the receiver.
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from kopilka.customers.models import Member


class Message(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("not sent: no address or no consent")

    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="messages")
    channel = models.CharField(_("channel"), max_length=10, default="email")
    kind = models.CharField(_("notice"), max_length=40)
    source = models.CharField(_("what it is about"), max_length=120)  # e.g. "compensation:12"
    to = models.CharField(_("to"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    uid = models.UUIDField(_("message id"), default=uuid.uuid4, unique=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True)
    leased_by = models.CharField(max_length=32, blank=True)
    next_try_at = models.DateTimeField(_("next try at"), null=True, blank=True)  # None: at once

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["kind", "source"], name="message_once_per_source")]
        indexes = [
            models.Index(fields=["member", "-created_at"], name="message_member"),
            models.Index(fields=["id"], condition=models.Q(status="queued"), name="message_queued"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.member_id} ({self.status})"


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

    class Channel(models.TextChoices):
        EMAIL = "email", _("e-mail")
        SMS = "sms", _("SMS")

    class Purpose(models.TextChoices):
        TRANSACTIONAL = "transactional", _("transactional (a notice)")
        MARKETING = "marketing", _("marketing")

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
