"""Refusals of the ledger, each with a stable code (listed in the API docs)."""

from django.utils.translation import gettext_lazy as _

from kopilka.core.errors import ApplicationError, Conflict, NotFound, ValidationFailed


class InsufficientPoints(ApplicationError):
    code = "insufficient_points"
    http_status = 409
    default_message = _("Not enough points available.")


class MemberCannotEarnOrSpend(ApplicationError):
    code = "member_blocked"
    http_status = 409
    default_message = _("The member is blocked or deleted: points can be neither earned nor spent.")


class InvalidPoints(ValidationFailed):
    code = "invalid_points"
    default_message = _("The number of points is not valid.")


class InvalidDates(ValidationFailed):
    code = "invalid_dates"
    default_message = _("The dates are not valid.")


class EntryNotFound(NotFound):
    code = "entry_not_found"
    default_message = _("No such ledger entry.")


class HoldNotFound(NotFound):
    code = "hold_not_found"
    default_message = _("No such hold.")


class HoldNotActive(Conflict):
    code = "hold_not_active"
    default_message = _("The hold is no longer active.")


class NothingToReverse(Conflict):
    code = "nothing_to_reverse"
    default_message = _("Nothing is left to reverse or return for this entry.")


class PointsAlreadySpent(Conflict):
    code = "points_already_spent"
    default_message = _("The points to take back were already spent, and the return policy forbids going below zero.")


class UnknownCategory(ValidationFailed):
    code = "unknown_category"
    default_message = _("Unknown point category.")


class UnknownReasonCode(ValidationFailed):
    code = "unknown_reason_code"
    default_message = _("Unknown reason code.")
