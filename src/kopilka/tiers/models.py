"""Tiers (статусы, SPEC §5): levels a member reaches by turnover or by points earned over a rolling window, or
holds by a paid subscription for its term.

Invariants:
- a member's tier is never below their manual floor;
- an upgrade happens as soon as the member qualifies; a downgrade only at a review (the end of a period);
- every change of a member's tier is recorded with its reason.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 14, "decimal_places": 2}


class Tier(models.Model):
    class Basis(models.TextChoices):
        TURNOVER = "turnover", _("turnover over the window")
        POINTS = "points", _("points earned over the window")
        SUBSCRIPTION = "subscription", _("paid subscription")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    rank = models.PositiveSmallIntegerField(_("rank"), unique=True, help_text=_("higher is better"))
    basis = models.CharField(_("basis"), max_length=12, choices=Basis.choices, default=Basis.TURNOVER)
    threshold = models.DecimalField(_("threshold"), default=0, help_text=_("roubles or points"), **MONEY)
    window_days = models.PositiveIntegerField(_("window, days"), default=365)
    privileges = models.TextField(_("privileges"), blank=True)

    class Meta:
        ordering = ["rank"]
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")

    def __str__(self) -> str:
        return self.name


class MemberTier(models.Model):
    member = models.OneToOneField("customers.Member", on_delete=models.CASCADE, related_name="tier_state")
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                             verbose_name=_("tier"))
    floor = models.ForeignKey(Tier, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name=_("manual floor"))
    subscription_tier = models.ForeignKey(Tier, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                          verbose_name=_("subscription"))
    subscription_until = models.DateTimeField(_("subscription until"), null=True, blank=True)
    since = models.DateTimeField(_("in this tier since"), null=True, blank=True)

    class Meta:
        verbose_name = _("member's tier")
        verbose_name_plural = _("members' tiers")


class TierChange(models.Model):
    """Rows are only ever added."""

    member = models.ForeignKey("customers.Member", on_delete=models.CASCADE, related_name="tier_changes")
    from_tier = models.CharField(_("from tier"), max_length=40, blank=True)
    to_tier = models.CharField(_("to tier"), max_length=40, blank=True)
    reason = models.CharField(_("reason"), max_length=300)
    actor = models.CharField(_("actor"), max_length=150)
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        ordering = ["changed_at", "id"]
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
