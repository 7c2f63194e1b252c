"""A member's row read with its labels in one statement gives the same facts as the row and the labels read apart."""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from kopilka.campaigns.facts import Labels, load_member, member_facts
from kopilka.core import clock
from kopilka.core.errors import NotFound
from kopilka.customers import services as members
from kopilka.customers.models import EligibilityFlag, Tag
from kopilka.tiers import services as tiers
from kopilka.tiers.models import MemberTier, Tier

pytestmark = pytest.mark.django_db


def test_the_row_with_its_labels_gives_the_facts_of_separate_reads(db):
    for code in ("doctor", "vip"):
        Tag.objects.create(code=code, name=code)
    EligibilityFlag.objects.create(code="no-promo", name="no promo")
    tiers.upsert_tier(code="gold", name="Золото", rank=1, basis="turnover", threshold=Decimal(0), window_days=365)
    labelled = members.create_member(actor="t",
                                     last_name="Иванова", tags=["doctor", "vip"], eligibility_flags=["no-promo"],
                                     registered_at=clock.now() - timedelta(days=40))
    MemberTier.objects.create(member=labelled, tier=Tier.objects.get(code="gold"))
    bare = members.create_member(actor="t", last_name="Петрова")
    now = clock.now()

    row = load_member(labelled.pk, labels=True)

    assert row.labels == Labels(frozenset({"doctor", "vip"}), frozenset({"no-promo"}), "gold")
    assert replace(row, labels=None) == load_member(labelled.pk)
    assert member_facts(labelled.pk, now, member=row) == member_facts(labelled.pk, now)
    assert load_member(bare.pk, labels=True).labels == Labels(frozenset(), frozenset(), None)
    assert member_facts(bare.pk, now, member=load_member(bare.pk, labels=True)) == member_facts(bare.pk, now)


def test_an_unknown_member_is_not_found_either_way(db):
    for labels in (False, True):
        with pytest.raises(NotFound):
            load_member(10**9, labels=labels)
