"""The notices' records: the programme's setting of each kind of notice, how far the outbox's events have been
turned into notices, how far ahead the coming burns have been read, and which campaigns' members were told.

Invariants: one `NoticeSetting` per kind (`notice_kinds.KINDS`), each naming an existing template; `days_before` is
set exactly for the kinds that count days; `on_since` is the moment a kind that is on was switched on: only what
happens from then on is told. Every outbox event with id ≤ the `NoticeCursor`'s position has been
turned into its notice or was of no kind told of then. Every burn day up to `ExpiringRead.through_day` has had its
`points.expiring` events recorded. A `CampaignNoticeRun` with `done_at` says every member the campaign applied to
at its `started_at` has been considered for that notice; while it runs, every such member with an id up to its
`through_member` has (their notices committed with the cursor), and it has written `members` messages.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kopilka.campaigns.models import Campaign
from kopilka.communications.cursor_models import SettledCursor


class NoticeSetting(models.Model):
    class Kind(models.TextChoices):
        POINTS_ACCRUED = "points_accrued", pgettext_lazy("notice", "points accrued")
        POINTS_SPENT = "points_spent", pgettext_lazy("notice", "points spent")
        POINTS_EXPIRING = "points_expiring", pgettext_lazy("notice", "points about to burn")
        TIER_CHANGED = "tier_changed", pgettext_lazy("notice", "tier changed")
        CAMPAIGN_STARTED = "campaign_started", pgettext_lazy("notice", "campaign started")
        CAMPAIGN_ENDING = "campaign_ending", pgettext_lazy("notice", "campaign ending soon")

    kind = models.CharField(_("notice"), max_length=40, choices=Kind.choices, unique=True)
    is_enabled = models.BooleanField(_("on"), default=False)
    on_since = models.DateTimeField(_("on since"), null=True, blank=True)  # the last time it was switched on
    template = models.ForeignKey("communications.MessageTemplate", verbose_name=_("template"), on_delete=models.PROTECT,
                                 related_name="+")
    days_before = models.PositiveSmallIntegerField(_("days before"), null=True, blank=True)
    updated_at = models.DateTimeField(_("changed at"))
    updated_by = models.CharField(_("changed by"), max_length=150)

    class Meta:
        verbose_name = _("notice setting")
        verbose_name_plural = _("notice settings")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.get_kind_display()


class NoticeCursor(SettledCursor):
    """How far the outbox's events have been turned into notices (one row)."""


class ExpiringRead(models.Model):
    """The last burn day whose coming burns have been recorded as `points.expiring` events (one row)."""

    through_day = models.DateField(null=True)


class CampaignNoticeRun(models.Model):
    """A campaign's notice of one kind, given to the members it applied to at `started_at`, by id in chunks, from
    the template it started with; `done_at` is None while it runs."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40, choices=NoticeSetting.Kind.choices)
    started_at = models.DateTimeField(null=True)  # when its first chunk was written: the moment its members are of
    template = models.ForeignKey("communications.MessageTemplate", on_delete=models.PROTECT, related_name="+",
                                 null=True)  # set with its first chunk; its notices' texts are filled from it
    through_member = models.BigIntegerField(default=0)  # the last member id of its last committed chunk
    members = models.PositiveIntegerField(default=0)  # messages recorded (sent or skipped by the rules)
    done_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "kind"], name="campaign_notice_once")]
