"""Who a promo campaign holds out (SPEC §8.4), the same way for one member (`held_out`, used by the pure engine)
and in SQL (`offered_sql`, used by the eligibility counts and the results).

Promo offers are the campaigns whose type puts its points in the lot category "promo". Only they hold members
out: base earning (category "base"), compensation for complaints ("compensation") and any category a programme
adds to the reference book reach every eligible member, so a new category never takes points away from anybody
unasked. A promo campaign holds out:
- the members of the programme's global control group at the moment of the purchase or event
  (`core.holdout`: rotated monthly);
- its own share, `rules.holdout_percent`, of the members, assigned by the hash salted with the campaign's code
  ("campaign:<code>"): stable for the campaign's life, whichever version of its rules is in force.
Pure (the global group's share and month come from the programme settings and the clock through `core.holdout`).
"""

from datetime import datetime
from decimal import Decimal

from kopilka.core import holdout

PROMO_CATEGORY = "promo"


def is_promo(lot_category: str) -> bool:
    return lot_category == PROMO_CATEGORY


def campaign_salt(code: str) -> int:
    return holdout.salt_of(f"campaign:{code}")


def held_out(member_id: int, code: str, share: Decimal) -> bool:
    """Whether the campaign's own holdout of `share` percent holds the member out."""
    return holdout.held_out(member_id, campaign_salt(code), share)


def held_out_sql(column: str, code: str, share: Decimal) -> str:
    """SQL true for the members of `column` the campaign's own holdout holds out."""
    return holdout.held_out_sql(column, campaign_salt(code), share)


def offered_sql(column: str, *, code: str, lot_category: str, share: Decimal, at: datetime) -> str:
    """SQL true for the members of `column` a campaign does not hold out at `at`: everybody for a campaign that is
    not a promo offer."""
    if not is_promo(lot_category):
        return "1 = 1"
    return (f"NOT ({holdout.global_control_group_sql(column, at)})"
            f" AND NOT ({held_out_sql(column, code, share)})")
