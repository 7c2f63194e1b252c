"""A mass mailing, its A/B variants, the members it was built for and what its messages' readers did.

Invariants: a mailing is edited only as a draft; `scheduled` holds a moment to start at; `sending` has its members
written down (`MailingRecipient`, one row per member, never changed after) and its messages in the outbox; `sent`
has no message of it queued any more; `cancelled` never started. Variants' shares are whole percents summing to
100. A recipient of a variant has exactly one message (kind MESSAGE_KIND, source "mailing:<id>:<member>"); a
held-out one, or one in the programme's control group, has none. A tracking event is recorded per message and
never changed.
"""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from kopilka.customers.models import Member

MAX_HOLDOUT_PERCENT = Decimal(50)
MESSAGE_KIND = "mass_mailing"  # the outbox's kind of a mailing's messages


class Mailing(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        SCHEDULED = "scheduled", _("scheduled")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        CANCELLED = "cancelled", _("cancelled")

    class Channel(models.TextChoices):  # the outbox's channels (`Message.Channel`), named here: models.py imports us
        EMAIL = "email", _("e-mail")
        SMS = "sms", _("SMS")

    name = models.CharField(_("name"), max_length=200)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    conditions = models.JSONField(_("who"), null=True, blank=True)  # a campaign conditions tree; None: everybody
    holdout_percent = models.DecimalField(
        _("held out, percent"), max_digits=4, decimal_places=2, default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(MAX_HOLDOUT_PERCENT)])
    rate_per_minute = models.PositiveIntegerField(_("messages per minute"), null=True, blank=True)  # None: no limit
    attribution_days = models.PositiveSmallIntegerField(
        _("attribution window, days"), default=7, validators=[MinValueValidator(1), MaxValueValidator(90)])
    send_at = models.DateTimeField(_("send at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    problem = models.CharField(_("why it has not started"), max_length=300, blank=True)
    audience = models.PositiveIntegerField(_("members"), default=0)  # recipients written down
    built = models.PositiveIntegerField(default=0)  # recipients of variants whose messages are written
    released = models.PositiveIntegerField(default=0)  # of those messages, the ones queued (not skipped)
    built_at = models.DateTimeField(null=True, blank=True)  # every message written
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("changed at"))
    updated_by = models.CharField(_("changed by"), max_length=150)

    class Meta:
        verbose_name = _("mailing")
        verbose_name_plural = _("mailings")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class MailingVariant(models.Model):
    """An A/B variant: a marketing template of the mailing's channel and its share of the members sent to."""

    mailing = models.ForeignKey(Mailing, on_delete=models.CASCADE, related_name="variants")
    position = models.PositiveSmallIntegerField()  # 0 is "A"
    template = models.ForeignKey("communications.MessageTemplate", verbose_name=_("template"), on_delete=models.PROTECT,
                                 related_name="+")
    share = models.PositiveSmallIntegerField(_("share, percent"))

    class Meta:
        ordering = ["mailing", "position"]
        constraints = [models.UniqueConstraint(fields=["mailing", "position"], name="mailing_variant_position")]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return chr(ord("A") + self.position)


class MailingRecipient(models.Model):
    """A member the mailing was built for, and their group: a variant's position (0, 1 …), HELD_OUT or
    PROGRAMME_GROUP."""

    HELD_OUT = -1
    PROGRAMME_GROUP = -2

    mailing = models.ForeignKey(Mailing, on_delete=models.CASCADE, related_name="recipients")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    group = models.SmallIntegerField(db_column="grp")
    message = models.OneToOneField("communications.Message", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="mailing_recipient")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["mailing", "member"], name="mailing_recipient_once")]
        indexes = [models.Index(fields=["mailing", "group"], name="mailing_recipient_group")]


class MessageEvent(models.Model):
    """What a reader did with a message: opened it (its pixel was fetched) or followed one of its links."""

    class Kind(models.TextChoices):
        OPEN = "open", _("opened")
        CLICK = "click", _("clicked")

    message = models.ForeignKey("communications.Message", on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("what"), max_length=5, choices=Kind.choices)
    url = models.CharField(_("link"), max_length=2000, blank=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("message event")
        verbose_name_plural = _("message events")
        indexes = [models.Index(fields=["message", "kind"], name="message_event_kind")]
