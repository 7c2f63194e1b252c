"""The members' reference books through a service: tags and eligibility flags, created or renamed by code in
batches, all or nothing (`core.reference_books`). Nothing is deleted: members name them."""

from collections.abc import Iterable, Mapping
from typing import Any

from kopilka.core import reference_books
from kopilka.customers.models import EligibilityFlag, Tag


def upsert_tags(items: Iterable[Mapping[str, Any]]) -> reference_books.Upserted:
    """Items: {"code", "name"}."""
    return reference_books.upsert(Tag, items, fields=("name",))


def upsert_eligibility_flags(items: Iterable[Mapping[str, Any]]) -> reference_books.Upserted:
    """Items: {"code", "name"}."""
    return reference_books.upsert(EligibilityFlag, items, fields=("name",))
