"""Point categories cached per process: every accrual needs one, and the book changes a few times a year.

Invariants: a code unknown to the cache is looked up in the database before it is refused, so a category added
anywhere is usable at once; a save or delete in this process empties the cache; any other process sees a renamed
or removed category within `MAX_AGE_SECONDS`. Lots reference categories by id and the book is PROTECTed, so a stale
entry can at worst name a category by its previous code for that long.
"""

import time
from dataclasses import dataclass

from django.db.models.signals import post_delete, post_save

from kopilka.ledger.models import LotCategory

MAX_AGE_SECONDS = 60.0
DEBT = "debt"


@dataclass(frozen=True)
class Category:
    id: int
    code: str
    redemption_rank: int


_cache: dict[str, Category] = {}
_ranks: list[list[int]] = [[0]]
_loaded_at = float("-inf")


def _load() -> None:
    global _cache, _ranks, _loaded_at
    _cache = {
        code: Category(pk, code, rank)
        for pk, code, rank in LotCategory.objects.values_list("id", "code", "redemption_rank")
    }
    _ranks = _rank_rows(_cache.values())
    _loaded_at = time.monotonic()


def category(code: str) -> Category | None:
    """The category with this code, or None when there is none (after asking the database)."""
    if time.monotonic() - _loaded_at > MAX_AGE_SECONDS or code not in _cache:
        _load()
    return _cache.get(code)


def codes() -> list[str]:
    """Codes a lot can be accrued into (everything but the debt category), as the database has them now."""
    _load()
    usable = [c for c in _cache.values() if c.code != DEBT]
    return [c.code for c in sorted(usable, key=lambda c: (c.redemption_rank, c.code))]


def by_rank() -> list[list[int]]:
    """The categories lots are spent from, grouped by redemption rank in rank order: one row of ids per rank, padded
    with zeros (no category has id 0) to the widest row, as `kopilka_spend` takes them."""
    if time.monotonic() - _loaded_at > MAX_AGE_SECONDS:
        _load()
    return _ranks


def _rank_rows(categories) -> list[list[int]]:
    ranks: dict[int, list[int]] = {}
    for c in sorted(categories, key=lambda c: (c.redemption_rank, c.id)):
        if c.code != DEBT:
            ranks.setdefault(c.redemption_rank, []).append(c.id)
    width = max((len(ids) for ids in ranks.values()), default=1)
    return [ids + [0] * (width - len(ids)) for ids in ranks.values()] or [[0]]


def forget(**_kwargs) -> None:
    """Empty the cache (connected to saves and deletes of LotCategory)."""
    global _loaded_at
    _loaded_at = float("-inf")


post_save.connect(forget, sender=LotCategory, dispatch_uid="ledger.reference.forget.save")
post_delete.connect(forget, sender=LotCategory, dispatch_uid="ledger.reference.forget.delete")
