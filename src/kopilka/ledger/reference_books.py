"""The ledger's reference books through a service: point categories (with the rank that orders spending) and
reason codes of manual operations, created or changed by code in batches, all or nothing
(`core.reference_books`). Nothing is deleted: lots and entries name them.

Invariants: the debt category is the ledger's own and is neither created nor changed here; a category change
empties this process's category cache at once (`reference.forget`), other processes see it within its age.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _

from kopilka.core import reference_books
from kopilka.core.errors import ValidationFailed
from kopilka.ledger import reference
from kopilka.ledger.models import LotCategory, ReasonCode

MAX_RANK = 32767


def upsert_lot_categories(items: Iterable[Mapping[str, Any]]) -> reference_books.Upserted:
    """Items: {"code", "name", "redemption_rank"}; a lower rank is spent first under the default order."""
    done = reference_books.upsert(LotCategory, items, fields=("name", "redemption_rank"),
                                  check=_check_category)
    reference.forget()
    return done


def upsert_reason_codes(items: Iterable[Mapping[str, Any]]) -> reference_books.Upserted:
    """Items: {"code", "name", "is_active"}; an inactive reason is refused by new manual operations."""
    return reference_books.upsert(ReasonCode, items, fields=("name", "is_active"),
                                  check=reference_books.check_active)


def _check_category(index: int, item: dict) -> None:
    if item["code"] == reference.DEBT:
        raise ValidationFailed(
            _("The category “%(code)s” is the ledger's own record of points owed; it cannot be changed.")
            % {"code": reference.DEBT},
            code="category_reserved", details={"item": index, "field": "code", "value": item["code"]},
        )
    rank = item.get("redemption_rank")
    if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank <= MAX_RANK:
        raise ValidationFailed(
            _("The redemption rank is a whole number from 0 to %(max)d.") % {"max": MAX_RANK},
            details={"item": index, "field": "redemption_rank", "value": rank},
        )
