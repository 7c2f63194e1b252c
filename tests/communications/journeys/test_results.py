"""A journey's results against hand-counted stories: each entry counts in its group (went through, held out by the
journey, kept out by the programme's control group) with the purchases and points of the window after entering;
the paths of a random split are groups of their own; the page shows the comparison, the table and the chart, and
the table downloads."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from kopilka.communications.journeys import results
from kopilka.communications.journeys.models import Journey, JourneyState, JourneyStep
from kopilka.communications.journeys.services import change_journey, create_journey, move_journey
from kopilka.core import clock, programme
from kopilka.core.models import ProgrammeSettings
from kopilka.orders.models import Order
from tests.analytics.programmes import buy
from tests.communications.journeys.conftest import member, run
from tests.factories import gift

pytestmark = pytest.mark.django_db

SPLIT = {"start": "ab", "steps": {"ab": {"kind": "split", "title": "Письмо или SMS",
                                         "paths": [{"share": 50, "next": None}, {"share": 50, "next": None}]}}}


def started(*, holdout: str = "30", days: int = 14) -> Journey:
    create_journey(code="j", name="Путь", trigger={"kind": "schedule", "at": clock.now().isoformat()}, graph=SPLIT,
                   holdout_percent=holdout, attribution_days=days, actor="t")
    move_journey("j", "start", actor="t")
    run()
    return Journey.objects.get(code="j")


def members_by_group() -> dict[str, list]:
    found: dict[str, list] = {}
    for state in JourneyState.objects.filter(journey__code="j").order_by("member_id").select_related("member"):
        group = state.held_out_by or JourneyStep.objects.get(state=state, step="ab").outcome
        found.setdefault(group, []).append(state.member)
    return found


def test_each_entry_counts_in_its_group_with_the_purchases_and_points_of_its_window(noon):
    for n in range(40):
        member(f"m{n}")
    journey = started()
    groups = members_by_group()
    held, first, second = groups["journey"], groups["path-1:50"], groups["path-2:50"]
    assert len(held) >= 3 and len(first) >= 2 and len(second) >= 2
    entered = JourneyState.objects.filter(journey=journey).values_list("entered_at", flat=True).first()

    buy(held[0], entered + timedelta(days=3), "1000.00")
    buy(held[1], entered + timedelta(days=14, seconds=1), "400.00")  # after the window
    buy(held[2], entered - timedelta(minutes=1), "300.00")  # before entering
    buy(first[0], entered + timedelta(hours=1), "500.00")
    buy(first[0], entered + timedelta(days=13), "250.50")
    buy(second[0], entered + timedelta(days=1), "900.00", status=Order.Status.CANCELLED)
    gift(first[1].pk, 70)  # now: inside every window
    noon.advance(days=20)
    gift(second[1].pk, 500)  # after the window

    found = results.results(journey)
    assert (found.days, found.share, found.programme_group) == (14, Decimal("30.00"), 0)
    exposed = found.exposed
    assert (exposed.members, exposed.converted, exposed.revenue, exposed.accrued) == (
        len(first) + len(second), 1, Decimal("750.50"), 70)
    assert exposed.revenue_squares == pytest.approx(750.50 ** 2)
    assert (found.held_out.members, found.held_out.converted, found.held_out.revenue, found.held_out.accrued) == (
        len(held), 1, Decimal("1000.00"), 0)
    by_path = {path.outcome: path for path in found.paths}
    assert [(p.step, p.title, p.number, p.share) for p in found.paths] == [
        ("ab", "Письмо или SMS", 1, 50), ("ab", "Письмо или SMS", 2, 50)]
    assert (by_path["path-1:50"].group.members, by_path["path-1:50"].group.converted,
            by_path["path-1:50"].group.revenue, by_path["path-1:50"].group.accrued) == (
        len(first), 1, Decimal("750.50"), 70)
    assert (by_path["path-2:50"].group.members, by_path["path-2:50"].group.converted,
            by_path["path-2:50"].group.revenue) == (len(second), 0, Decimal("0.00"))


def test_a_shorter_window_and_the_programmes_control_group(noon):
    ProgrammeSettings.objects.create(pk=ProgrammeSettings.SINGLETON, control_group_percent=Decimal(20))
    programme.forget()
    for n in range(60):
        member(f"m{n}")
    journey = started(holdout="20", days=2)
    groups = members_by_group()
    assert groups.get("control_group") and groups.get("journey")
    entered = JourneyState.objects.filter(journey=journey).values_list("entered_at", flat=True).first()
    buy(groups["path-1:50"][0], entered + timedelta(days=1), "100.00")
    buy(groups["path-2:50"][0], entered + timedelta(days=3), "100.00")  # past the 2 days
    buy(groups["control_group"][0], entered + timedelta(days=1), "100.00")  # in neither group
    noon.advance(days=5)

    found = results.results(journey)
    assert found.programme_group == len(groups["control_group"])
    assert (found.exposed.members, found.exposed.converted) == (
        len(groups["path-1:50"]) + len(groups["path-2:50"]), 1)
    assert (found.held_out.members, found.held_out.converted) == (len(groups["journey"]), 0)


def test_entries_before_now_only_and_a_journey_nobody_entered(noon):
    create_journey(code="j", name="Путь", trigger={"kind": "schedule", "at": clock.now().isoformat()}, graph=SPLIT,
                   actor="t")
    found = results.results(Journey.objects.get(code="j"))
    assert (found.exposed.members, found.held_out.members, found.programme_group) == (0, 0, 0)
    assert [(p.outcome, p.group.members) for p in found.paths] == [("path-1:50", 0), ("path-2:50", 0)]


def test_the_window_is_a_setting_checked_when_saved(noon):
    journey = started(days=14)
    with pytest.raises(Exception) as refused:
        change_journey("j", attribution_days=0, actor="t")
    assert getattr(refused.value, "code", "") == "journey_invalid"
    change_journey("j", attribution_days=30, actor="t")
    journey.refresh_from_db()
    assert journey.attribution_days == 30


def test_the_results_page_compares_the_groups_and_downloads_the_table(noon, client, django_user_model):
    for n in range(30):
        member(f"m{n}")
    journey = started()
    held = members_by_group()["journey"]
    buy(held[0], clock.now() + timedelta(hours=2), "1000.00")
    noon.advance(days=1)
    staff = django_user_model.objects.create_superuser("boss", "boss@example.ru", "pw")
    client.force_login(staff)

    page = client.get(f"/office/journeys/{journey.code}/results/", {"effect": "5"})
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-testid="holdout"' in text and 'data-chart="conversion"' in text
    assert "Письмо или SMS" in text and "<svg" in text

    downloaded = client.get(f"/office/journeys/{journey.code}/results/journey-groups.json")
    rows = json.loads(downloaded.content)
    assert [row["members"] for row in rows] == [
        JourneyState.objects.filter(journey=journey).exclude(status="held_out").count(),
        *(JourneyStep.objects.filter(state__journey=journey, outcome=o).count() for o in ("path-1:50", "path-2:50")),
        len(held)]
    assert rows[-1]["converted"] == 1 and rows[-1]["uplift"] is None and rows[0]["uplift"] is not None
    assert client.get(f"/office/journeys/{journey.code}/results/journey-groups.pdf").status_code == 404
    assert client.get("/office/journeys/no-such/results/").status_code == 404
    journey_page = client.get(f"/office/journeys/{journey.code}/").content.decode()
    assert f"/office/journeys/{journey.code}/results/" in journey_page
