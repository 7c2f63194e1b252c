"""Keeping the monthly plan: a mechanic is added to a month (at most MAX_MECHANICS) or changed, checked whole first and
refused with every reason in the author's language (ValidationFailed, nothing changed); each change is audited."""

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from kopilka.campaigns.conditions import parse as parse_condition
from kopilka.communications.monthly_plan.models import MAX_MECHANICS, PlanMechanic
from kopilka.core import audit, clock
from kopilka.core.errors import NotFound, ValidationFailed

FIELDS = ("title", "goal", "conditions", "kind", "campaign", "mailing", "journey", "description", "communication",
          "budget", "budget_used_entered", "target_conversion")
LINKS = {PlanMechanic.Kind.CAMPAIGN: "campaign", PlanMechanic.Kind.MAILING: "mailing",
         PlanMechanic.Kind.JOURNEY: "journey"}  # a kind → the field of what it links


def get_mechanic(month: date, position: int) -> PlanMechanic:
    found = PlanMechanic.objects.filter(month=month, position=position).first()
    if found is None:
        raise NotFound(_("No mechanic %(n)s in %(month)s.") % {"n": position, "month": f"{month:%Y-%m}"},
                       code="plan_mechanic_not_found")
    return found


def problems(fields: dict) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}

    def add(name: str, text: str) -> None:
        found.setdefault(name, []).append(text)

    for name, text in (("title", _("Name the mechanic.")), ("goal", _("State the goal."))):
        if not (fields.get(name) or "").strip():
            add(name, text)
    kind = fields.get("kind")
    if kind not in PlanMechanic.Kind.values:
        add("kind", _("Choose the kind of mechanic."))
    if kind == PlanMechanic.Kind.CAMPAIGN and fields.get("campaign") is None:
        add("campaign", _("Choose the campaign."))
    if kind == PlanMechanic.Kind.MAILING and fields.get("mailing") is None:
        add("mailing", _("Choose the mailing."))
    if kind == PlanMechanic.Kind.JOURNEY and fields.get("journey") is None:
        add("journey", _("Choose the journey."))
    if kind == PlanMechanic.Kind.TEXT and not (fields.get("description") or "").strip():
        add("description", _("Describe the mechanic."))
    if fields.get("conditions") is not None:
        try:
            parse_condition(fields["conditions"])
        except (TypeError, ValueError) as error:
            add("conditions", _("The conditions are not valid: %(error)s") % {"error": error})
    for name in ("budget", "budget_used_entered"):
        value = fields.get(name)
        if (value is not None or name == "budget") and (not isinstance(value, Decimal) or value < 0
                                                         or value != value.quantize(Decimal("0.01"))):
            add(name, _("An amount of roubles, not negative, with at most two decimals."))
    target = fields.get("target_conversion")
    if not isinstance(target, Decimal) or not 0 <= target <= 100:
        add("target_conversion", _("The planned conversion is 0 to 100 percent."))
    return found


def save_mechanic(*, month: date, position: int | None = None, user=None, actor: str | None = None,
                  **fields) -> PlanMechanic:
    """Add a mechanic to `month` (no `position`: the first free number) or change mechanic `position` of it to
    `fields` (all of FIELDS). Only the link of its kind is kept; the others are cleared."""
    if set(fields) != set(FIELDS):
        raise ValueError(f"a mechanic's fields are exactly {FIELDS}")
    if month.day != 1:
        raise ValueError(f"a month is its first day: {month}")
    fields = {**fields, **{link: fields[link] if fields["kind"] == kind else None for kind, link in LINKS.items()}}
    found = problems(fields)
    if found:
        raise ValidationFailed(_("The mechanic is not saved: %(problems)s") % {
            "problems": " ".join(t for texts in found.values() for t in texts)}, code="plan_mechanic_invalid",
            details={"fields": found})
    who = actor or audit.actor_of(user)
    with transaction.atomic():
        taken = set(PlanMechanic.objects.select_for_update().filter(month=month).values_list("position", flat=True))
        if position is None:
            free = [n for n in range(1, MAX_MECHANICS + 1) if n not in taken]
            if not free:
                raise ValidationFailed(_("A month's plan has at most %(n)d mechanics.") % {"n": MAX_MECHANICS},
                                       code="plan_full")
            mechanic = PlanMechanic(month=month, position=free[0])
        else:
            mechanic = get_mechanic(month, position)
        for name, value in fields.items():
            setattr(mechanic, name, value)
        mechanic.updated_at, mechanic.updated_by = clock.now(), who
        mechanic.save()
        audit.record(user, "communications.plan_mechanic_saved",
                     _("Saved mechanic %(n)d of the plan for %(month)s: %(title)s") % {
                         "n": mechanic.position, "month": f"{month:%Y-%m}", "title": mechanic.title},
                     target=f"communications.planmechanic:{mechanic.pk}", actor=who)
    return mechanic
