"""Refusals of campaigns, with their codes."""

from django.utils.translation import gettext_lazy as _

from kopilka.core.errors import Conflict, NotFound, ValidationFailed


def campaign_not_found(code: str) -> NotFound:
    return NotFound(_("No such campaign."), code="campaign_not_found", details={"campaign": code})


class TransitionRefused(Conflict):
    code = "campaign_transition_refused"
    default_message = _("The campaign cannot go to that status from the one it is in.")


class RulesInvalid(ValidationFailed):
    code = "campaign_rules_invalid"
    default_message = _("The campaign rules are not valid.")
