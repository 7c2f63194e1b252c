"""Messages to members (SPEC §8): an outbox. A notice is recorded once per (kind, source) and sent by the worker.

Invariants: a message is `queued` until the worker sends it (`sent`) or gives up (`failed`, with the error);
a member without an e-mail address or without e-mail consent in force gets `skipped` (recorded, never sent).
"""

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
