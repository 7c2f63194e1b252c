"""A mechanic of a month's plan.

Invariants: a month (its first day) has at most MAX_MECHANICS mechanics, numbered 1 … MAX_MECHANICS; a mechanic
links at most one thing, the one of its kind: a campaign, a mailing or a trigger journey (free text links none);
money is Decimal roubles with kopecks."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from kopilka.campaigns.models import Campaign
from kopilka.communications.journeys.models import Journey
from kopilka.communications.mailings.models import Mailing

MAX_MECHANICS = 3


class PlanMechanic(models.Model):
    class Kind(models.TextChoices):
        CAMPAIGN = "campaign", _("a promo campaign")
        MAILING = "mailing", _("a mailing")
        JOURNEY = "journey", _("a trigger journey")
        TEXT = "text", _("described in words")

    month = models.DateField(_("month"))  # its first day
    position = models.PositiveSmallIntegerField(_("number"))
    title = models.CharField(_("mechanic"), max_length=200)
    goal = models.TextField(_("goal"))
    # None: the linked campaign's or mailing's, else everybody (a journey's fact counts the members it reached)
    conditions = models.JSONField(_("segment"), null=True, blank=True)
    kind = models.CharField(_("mechanic kind"), max_length=10, choices=Kind.choices, default=Kind.TEXT)
    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="+")
    mailing = models.ForeignKey(Mailing, verbose_name=_("mailing"), on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    journey = models.ForeignKey(Journey, verbose_name=_("journey"), on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    description = models.TextField(_("how it works"), blank=True)
    communication = models.TextField(_("communication"), blank=True)
    budget = models.DecimalField(_("budget, ₽"), max_digits=14, decimal_places=2)
    budget_used_entered = models.DecimalField(_("budget used, ₽ (entered)"), max_digits=14, decimal_places=2,
                                              null=True, blank=True)
    target_conversion = models.DecimalField(_("planned conversion, percent"), max_digits=5, decimal_places=2)
    updated_at = models.DateTimeField(_("changed at"))
    updated_by = models.CharField(_("changed by"), max_length=150)

    class Meta:
        verbose_name = _("mechanic of the monthly plan")
        verbose_name_plural = _("mechanics of the monthly plan")
        ordering = ["month", "position"]
        constraints = [models.UniqueConstraint(fields=["month", "position"], name="plan_mechanic_position")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} #{self.position} {self.title}"
