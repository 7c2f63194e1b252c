"""What an accrual may name as its source when an integration asks for it.

A lot's source (kind, reference) is not just a label: the purchase quote gives a lot of kind "campaign" the
spending rules of the campaign version its reference names, and reports attribute points to campaigns, orders
and compensations by it. So the kinds the platform writes itself are its own:

- "campaign"      points a campaign granted; the reference is the version, "<code>:v<number>";
- "order"         points held or spent for an order of the purchase flow; the reference is the order's id;
- "compensation"  a compensation granted in the back office; the reference is the request's id;
- "debt"          the ledger's record of points owed after a reversal.

Invariant: an accrual asked for from outside (the API) names none of them, and its kind and reference are
short plain words (`KIND_PATTERN`, `REF_PATTERN`), so a lot's source means what the platform says it means.
"""

import re

from django.utils.translation import gettext_lazy as _

from kopilka.core.errors import ValidationFailed

PLATFORM_KINDS = ("campaign", "compensation", "debt", "order")
KIND_MAX_LENGTH = 40
REF_MAX_LENGTH = 100
# Latin lower-case letters, digits, "-" and "_", beginning with a letter.
KIND_PATTERN = r"^[a-z][a-z0-9_-]*$"
# Words of letters (Latin or Cyrillic), digits and - _ . : / # № +, separated by single spaces; may be empty.
_WORD = "[0-9A-Za-zА-Яа-яЁё_.:/#№+-]+"
REF_PATTERN = f"^({_WORD}( {_WORD})*)?$"


def check_integration_source(kind: str, ref: str) -> None:
    """Refuse a source an integration may not name: a kind of the platform's own, or a malformed kind or
    reference."""
    if kind in PLATFORM_KINDS:
        raise ValidationFailed(
            _("The source kind “%(kind)s” is written by the platform itself (%(reserved)s); name the source "
              "of your points with a kind of your own, e.g. “manual” or “partner”.")
            % {"kind": kind, "reserved": ", ".join(PLATFORM_KINDS)},
            code="source_kind_reserved",
            details={"field": "source_kind", "value": kind, "reserved": list(PLATFORM_KINDS)},
        )
    if not (0 < len(kind) <= KIND_MAX_LENGTH and re.fullmatch(KIND_PATTERN, kind)):
        raise ValidationFailed(
            _("A source kind is 1 to %(max)d Latin lower-case letters, digits, “-” and “_”, beginning with "
              "a letter.")
            % {"max": KIND_MAX_LENGTH},
            code="source_invalid",
            details={"field": "source_kind", "value": kind, "pattern": KIND_PATTERN},
        )
    if not (len(ref) <= REF_MAX_LENGTH and re.fullmatch(REF_PATTERN, ref)):
        raise ValidationFailed(
            _("A source reference is at most %(max)d characters: letters, digits and - _ . : / # № +, words "
              "separated by single spaces.") % {"max": REF_MAX_LENGTH},
            code="source_invalid",
            details={"field": "source_ref", "value": ref, "pattern": REF_PATTERN},
        )
