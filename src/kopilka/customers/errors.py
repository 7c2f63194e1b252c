"""Refusals that both the services and the selectors give."""

from django.utils.translation import gettext_lazy as _

from kopilka.core.errors import NotFound


def member_not_found(member_id: int) -> NotFound:
    return NotFound(_("Member not found."), code="member_not_found", details={"member_id": member_id})
