"""Programme settings saved on the screen take effect over the environment's values: the receipt cap limits what
a cart may take in points, the time zone moves the programme's day; bad values are refused; changes are audited."""

from decimal import Decimal

import pytest
from django.test import Client

from kopilka.core import clock, programme
from kopilka.core.models import AuditEvent, ProgrammeSettings
from kopilka.customers import services as members
from kopilka.ledger import services as ledger
from kopilka.purchases.quote import CartItem, quote

pytestmark = pytest.mark.django_db

EMPTY = {"time_zone": "", "redemption_order": "", "return_policy": "", "receipt_cap_percent": "",
         "default_lot_lifetime_days": "", "point_value": ""}


@pytest.fixture
def administrator(staff):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(staff("administrator"))
    return client


def test_a_saved_receipt_cap_and_point_value_change_what_a_cart_may_take(administrator):
    member = members.create_member(actor="t", last_name="Кузнецова")
    ledger.accrue(member_id=member.pk, points=10_000, actor="t", idempotency_key="k")
    cart = [CartItem("X", Decimal(1), Decimal("1000.00"), Decimal("1000.00"))]
    assert quote(member.pk, cart, requested=None).maximum == 300  # 30 % of 1000 ₽ from the environment

    saved = administrator.post("/office/settings/", {**EMPTY, "receipt_cap_percent": "10", "point_value": "0.5"})
    assert saved.status_code == 302
    assert programme.value("RECEIPT_CAP_PERCENT") == Decimal("10")
    assert quote(member.pk, cart, requested=None).maximum == 200  # 100 ₽ at 0.50 ₽ a point
    event = AuditEvent.objects.get(action="programme.changed")
    assert event.details["RECEIPT_CAP_PERCENT"] == ["30", "10.00"]

    administrator.post("/office/settings/", EMPTY)  # emptied: the environment's values again
    assert quote(member.pk, cart, requested=None).maximum == 300


def test_the_time_zone_moves_the_programmes_day(administrator):
    administrator.post("/office/settings/", {**EMPTY, "time_zone": "Asia/Vladivostok"})
    assert str(clock.programme_tz()) == "Asia/Vladivostok"


@pytest.mark.parametrize("field, value", [("time_zone", "Mars/Olympus"), ("receipt_cap_percent", "150"),
                                          ("redemption_order", "random"), ("default_lot_lifetime_days", "0"),
                                          ("point_value", "-1"), ("point_value", "0")])
def test_bad_values_are_refused_and_nothing_changes(administrator, field, value):
    page = administrator.post("/office/settings/", {**EMPTY, field: value})
    assert page.status_code == 200 and "errorlist" in page.content.decode()
    assert not ProgrammeSettings.objects.exists() and not AuditEvent.objects.exists()


def test_an_auditor_reads_the_settings_but_cannot_change_them(staff):
    auditor = Client()
    auditor.force_login(staff("auditor"))
    assert auditor.get("/office/settings/").status_code == 200
    assert auditor.post("/office/settings/", {**EMPTY, "time_zone": "Europe/Samara"}).status_code == 403
    assert not ProgrammeSettings.objects.exists()
