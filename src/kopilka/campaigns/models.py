"""Campaigns (промо-кампании, SPEC §3): types, campaigns with their lifecycle, and versions of their rules.

Invariants:
- a version that has been live (its campaign active while it was the newest) is never changed: an edit makes
  a new version, and every ledger entry a campaign produces names the version ("<code>:v<number>");
- the newest version of a campaign is the one in force;
- every change of status is recorded with who, when and why;
- a budget is never exceeded: it is kept as shards whose `points_left` sum to what it has left and never go below
  zero (a database check); the budget spent is `budget_points` less that sum.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class EventType(models.Model):
    """What members do that event campaigns reward (registration, review, ...): a reference book. The built-in
    "birthday" is what the daily birthday run records."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=120)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("event type")
        verbose_name_plural = _("event types")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class CampaignType(models.Model):
    """A reference book: base, promo and compensation come pre-loaded; a programme adds its own."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    lot_category = models.CharField(
        _("lot category"), max_length=40, help_text=_("the ledger category of the points it accrues")
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("campaign type")
        verbose_name_plural = _("campaign types")

    def __str__(self) -> str:
        return self.name


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("campaign", "draft")
        SCHEDULED = "scheduled", pgettext_lazy("campaign", "scheduled")
        ACTIVE = "active", pgettext_lazy("campaign", "active")
        PAUSED = "paused", pgettext_lazy("campaign", "paused")
        FINISHED = "finished", pgettext_lazy("campaign", "finished")

    class Combination(models.TextChoices):
        STACK = "stack", _("adds to other campaigns")
        EXCLUSIVE = "exclusive", _("excludes other campaigns")

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("internal name"), max_length=200)
    public_name = models.CharField(_("name shown to members"), max_length=200)
    type = models.ForeignKey(CampaignType, on_delete=models.PROTECT, related_name="campaigns", verbose_name=_("type"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    priority = models.IntegerField(_("priority"), default=100, help_text=_("higher applies first"))
    combination = models.CharField(
        _("combination"), max_length=10, choices=Combination.choices, default=Combination.STACK
    )
    budget_points = models.BigIntegerField(_("budget, points"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-priority", "code"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        indexes = [models.Index(fields=["status", "starts_at"], name="campaign_status_start")]

    def __str__(self) -> str:
        return self.name

    @property
    def budget_spent(self) -> int:
        """Points granted under the budget (less those given back); 0 without a budget."""
        if self.budget_points is None:
            return 0
        left = self.budget_shards.aggregate(left=models.Sum("points_left"))["left"] or 0
        return self.budget_points - left


class BudgetShard(models.Model):
    """One shard of a campaign's budget: the points of it still to grant. A grant takes from the member's shard under
    that row's lock, so grants to different members seldom wait for one another (`campaigns.budgets`)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="budget_shards")
    number = models.PositiveSmallIntegerField()
    points_left = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "number"], name="budget_shard_unique"),
            models.CheckConstraint(condition=models.Q(points_left__gte=0), name="budget_shard_not_overdrawn"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.number}: {self.points_left}"


class CampaignVersion(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    rules = models.JSONField(_("rules"))
    went_live_at = models.DateTimeField(_("went live at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.CharField(_("created by"), max_length=150)
    comment = models.CharField(_("comment"), max_length=500, blank=True)

    class Meta:
        ordering = ["campaign", "-number"]
        verbose_name = _("campaign version")
        verbose_name_plural = _("campaign versions")
        constraints = [models.UniqueConstraint(fields=["campaign", "number"], name="campaign_version_unique")]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        """How ledger entries name this version."""
        return f"{self.campaign.code}:v{self.number}"


class CampaignStatusChange(models.Model):
    """Rows are only ever added."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(_("from status"), max_length=10, choices=Campaign.Status.choices)
    to_status = models.CharField(_("to status"), max_length=10, choices=Campaign.Status.choices)
    actor = models.CharField(_("actor"), max_length=150)
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        ordering = ["changed_at", "id"]
        verbose_name = _("campaign status change")
        verbose_name_plural = _("campaign status changes")

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.from_status} → {self.to_status}"


class MemberUsage(models.Model):
    """Points a member has earned from a campaign in one period (`period_key`, e.g. "2026-03" or "campaign"),
    kept so per-member limits are enforced under a row lock."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+",
                                 db_index=False)  # member_usage_unique (campaign, member, period) serves it
    member = models.ForeignKey("customers.Member", on_delete=models.CASCADE, related_name="+")
    period_key = models.CharField(max_length=20)
    points = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "member", "period_key"], name="member_usage_unique")
        ]


class MemberEvent(models.Model):
    """Something a member did or that happened to them (registration, review, training, birthday, ...), which
    event campaigns reward. `key` is the sender's id of the event: the same key again is the same event."""

    member = models.ForeignKey("customers.Member", on_delete=models.PROTECT, related_name="events")
    type = models.CharField(_("event type"), max_length=30)
    key = models.CharField(_("key"), max_length=200)
    occurred_at = models.DateTimeField(_("occurred at"))
    details = models.JSONField(_("details"), default=dict, blank=True)
    points = models.BigIntegerField(_("points earned"), default=0)
    actor = models.CharField(_("recorded by"), max_length=150)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("member event")
        verbose_name_plural = _("member events")
        constraints = [models.UniqueConstraint(fields=["member", "key"], name="member_event_unique_key")]
        indexes = [models.Index(fields=["member", "type", "-occurred_at"], name="member_event_type")]
