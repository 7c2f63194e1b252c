"""The demo data set: members, purchases and points, consistent with everything the platform checks."""

import io
import re
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from kopilka.campaigns.models import Campaign, MemberEvent
from kopilka.customers.models import Consent, ExternalId, Member
from kopilka.ledger.models import Entry, Lot
from kopilka.ledger.reconcile import reconcile
from kopilka.orders.models import Order, OrderPoints
from kopilka.seed.demo import DemoSize, load_demo
from kopilka.tiers.models import MemberTier

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded():
    progress = io.StringIO()
    result = load_demo(DemoSize(members=40, months=12, seed=7), stream=progress)
    return result, progress.getvalue()


def test_members_of_both_kinds_with_their_ids_consents_and_a_few_blocked(loaded):
    result, _ = loaded

    assert result.members == Member.objects.count() == 40
    kinds = Counter(Member.objects.values_list("kind", flat=True))
    assert kinds["individual"] > kinds["legal_entity"] > 0
    assert ExternalId.objects.filter(system="customer").count() == 40
    onec = list(ExternalId.objects.filter(system="onec").values_list("value", flat=True))
    assert onec and all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", v)
                        for v in onec)  # 1C's GUIDs
    assert Consent.objects.filter(granted=True).exists()
    assert Member.objects.filter(status="blocked").count() == 1
    assert not Member.objects.filter(kind="legal_entity", inn="").exists()


def test_purchases_of_members_and_non_members_are_in_the_purchases_store(loaded):
    result, _ = loaded

    assert result.orders == Order.objects.filter(source="demo").count() > 40
    assert result.non_member_orders == Order.objects.filter(member__isnull=True).count() > 0
    assert not Order.objects.filter(lines__isnull=True).exists()


def test_the_ledger_holds_accruals_spends_burns_and_compensations_and_reconciles(loaded):
    result, progress = loaded

    kinds = set(Entry.objects.values_list("kind", flat=True))
    assert {"accrual", "spend", "expiry"} <= kinds
    assert result.burned_points > 0
    assert reconcile().clean
    assert "Points of the purchase history" in progress and "Purchases through the till flow" in progress


def test_the_demo_programme_runs_campaigns_tiers_the_till_flow_and_events(loaded):
    sources = set(Lot.objects.filter(source_kind="campaign").values_list("source_ref", flat=True))
    assert {"base:v1", "biorev-launch:v1"} <= sources
    assert Campaign.objects.filter(status="active").count() == 6
    assert OrderPoints.objects.filter(kind="earn").exists()
    assert MemberEvent.objects.exists()
    assert MemberTier.objects.exclude(tier=None).count() == 40
    launch = Campaign.objects.get(code="biorev-launch")
    earned = Lot.objects.filter(source_ref="biorev-launch:v1").values_list("amount", flat=True)
    assert launch.budget_spent == sum(earned)


def test_every_grant_for_a_purchase_names_its_order_the_historys_too(loaded):
    for_purchases = (Entry.objects.filter(kind="accrual", source_kind="campaign")
                     .exclude(idempotency_key__startswith="event:"))
    earned = OrderPoints.objects.filter(kind="earn")

    assert set(earned.values_list("entry_id", flat=True)) == set(for_purchases.values_list("pk", flat=True))
    assert earned.filter(order__status="completed").exists()  # the imported history's receipts


def test_seed_refuses_a_programme_that_already_has_members_and_adds_nothing(loaded):
    entries = Entry.objects.count()

    with pytest.raises(CommandError):
        call_command("seed", members=5, months=2, stdout=io.StringIO(), stderr=io.StringIO())

    assert Member.objects.count() == 40
    assert Entry.objects.count() == entries
