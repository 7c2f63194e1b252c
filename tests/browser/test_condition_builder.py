"""A marketer builds "doctors in Siberia with fewer than 5 orders OR clinics of category A in million-plus cities" in
the campaign builder without touching JSON — groups, NOT-able rows, values picked from lists with search — watching
the live count per group and in total; the saved tree is the one built, and the page reads it back exactly: a save
without changes makes no new version, and the JSON's advanced view round-trips into the rows. In Russian and
English."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from kopilka.backoffice.roles import MARKETER, sync_roles
from kopilka.campaigns.models import Campaign, CampaignVersion
from kopilka.core import clock
from kopilka.customers import services as members
from kopilka.customers.models import Tag
from kopilka.orders.models import Order

PASSWORD = "a-long-browser-password-9"
SIBERIA = "Сибирский федеральный округ"
BUILT = {"type": "any", "of": [
    {"type": "all", "of": [
        {"type": "tags", "tags": ["doctor"], "match": "any"},
        {"type": "region", "regions": [], "federal_districts": [SIBERIA]},
        {"type": "orders", "op": "lt", "value": 5, "within_days": None},
    ]},
    {"type": "all", "of": [
        {"type": "tags", "tags": ["clinic-category-a"], "match": "any"},
        {"type": "million_plus"},
    ]},
]}

WORDS = {
    "ru-RU": {"new": "Новая кампания", "code": "Код", "name": "Внутреннее название", "type": "Тип", "starts": "Начало",
              "condition": "+ условие", "group": "+ группа", "kind": "Условие", "join": "Группа условий",
              "tags": "Теги", "districts": "Федеральные округа", "comparison": "Сравнение", "value": "Значение",
              "save": "Сохранить", "percent": "Процент", "advanced": "Для опытных: дерево условий в JSON",
              "doctor": "Врач", "clinic": "категории A", "siberia": "Сибирский", "saved": "сохранена"},
    "en-US": {"new": "New campaign", "code": "Code", "name": "Internal name", "type": "Type", "starts": "Starts",
              "condition": "+ condition", "group": "+ group", "kind": "Condition", "join": "Group of conditions",
              "tags": "Tags", "districts": "Federal districts", "comparison": "Comparison", "value": "Value",
              "save": "Save", "percent": "Percent", "advanced": "Advanced: the condition tree as JSON",
              "doctor": "Врач", "clinic": "категории A", "siberia": "Сибирский", "saved": "saved"},
}


def _inn(serial: int) -> str:
    """A valid 10-digit ИНН of an organisation."""
    digits = [int(d) for d in f"77{serial:07d}"]
    check = sum(w * d for w, d in zip([2, 4, 10, 3, 5, 9, 4, 6, 8], digits, strict=True)) % 11 % 10
    return "".join(map(str, digits)) + str(check)


def _members() -> None:
    """In: anna (doctor, Novosibirsk region, 2 orders), «Аврора» (clinic A, Moscow), «Дерма» (clinic A,
    Novosibirsk). Out: boris (doctor in Siberia with 6 orders), vera (doctor in Moscow), «Линия» (clinic A in a
    small town), «Престиж» (a clinic, not of category A, in Moscow)."""
    Tag.objects.create(code="doctor", name="Врач")
    Tag.objects.create(code="clinic", name="Клиника")
    Tag.objects.create(code="clinic-category-a", name="Клиника категории A")
    anna = members.create_member(actor="t", last_name="Анина", region_code="54", tags=["doctor"])
    boris = members.create_member(actor="t", last_name="Борисов", region_code="24", tags=["doctor"])
    members.create_member(actor="t", last_name="Верина", region_code="77", tags=["doctor"])
    for serial, (name, region, city, tags) in enumerate([
        ("Аврора", "77", "Москва", ["clinic", "clinic-category-a"]),
        ("Дерма", "54", "Новосибирск", ["clinic", "clinic-category-a"]),
        ("Линия", "78", "Пушкин", ["clinic", "clinic-category-a"]),
        ("Престиж", "77", "Москва", ["clinic"]),
    ], start=1):
        members.create_member(actor="t", kind="legal_entity", legal_name=f"ООО «{name}»", inn=_inn(serial),
                              region_code=region, city=city, tags=tags)
    for member, orders in ((anna, 2), (boris, 6)):
        for n in range(orders):
            Order.objects.create(member=member, source="test", external_id=f"{member.pk}-{n}", total=1000,
                                 purchased_at=clock.now() - timedelta(days=10 + n), status="completed")


def _pick(scope, list_name: str, typed: str) -> None:
    """Types into the list's search box and takes the one value it names."""
    search = scope.get_by_role("group", name=list_name).get_by_role("combobox")
    search.fill(typed)
    search.press("Enter")


def _add_condition(group, words: dict, kind: str):
    group.locator(":scope > .group-add").get_by_role("button", name=words["condition"]).click()
    row = group.locator(":scope > .group-items > .condition").last
    row.get_by_role("combobox", name=words["kind"], exact=True).select_option(kind)
    return group.locator(":scope > .group-items > .condition").last


@pytest.mark.parametrize("locale", ["ru-RU", "en-US"])
def test_a_marketer_builds_nested_groups_without_json_and_the_page_reads_them_back(page_in, shot, locale):
    words = WORDS[locale]
    sync_roles()
    marketer = User.objects.create_user("mila", password=PASSWORD, is_staff=True)
    marketer.groups.set([Group.objects.get(name=MARKETER)])
    _members()
    page = page_in(locale)
    failures = []
    page.on("pageerror", lambda error: failures.append(str(error)))
    page.goto("/admin/login/?next=/office/campaign-new/")
    page.fill("#id_username", "mila")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/office/campaign-new/")
    expect(page.locator("#eligible")).to_have_text("7")

    page.get_by_label(words["code"], exact=True).fill("doctors-and-clinics")
    page.get_by_label(words["name"]).fill("Врачи Сибири и клиники A")
    page.get_by_label(words["type"], exact=True).select_option("promo")
    page.get_by_label(words["starts"], exact=True).fill(
        (clock.now() - timedelta(hours=1)).astimezone(clock.programme_tz()).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label(words["percent"], exact=True).fill("5")

    root = page.locator("#condition-tree > .group")
    root.locator(":scope > .group-head").get_by_role("combobox", name=words["join"]).select_option("any")
    root.locator(":scope > .group-add").get_by_role("button", name=words["group"]).click()
    doctors = root.locator(":scope > .group-items > .group").nth(0)
    _pick(_add_condition(doctors, words, "tags"), words["tags"], words["doctor"])
    _pick(_add_condition(doctors, words, "region"), words["districts"], words["siberia"])
    orders = _add_condition(doctors, words, "orders")
    orders.get_by_role("combobox", name=words["comparison"]).select_option("lt")
    orders.get_by_role("spinbutton", name=words["value"]).fill("5")
    expect(doctors.locator(":scope > .group-head .group-count")).to_have_text("1")

    root.locator(":scope > .group-add").get_by_role("button", name=words["group"]).click()
    clinics = root.locator(":scope > .group-items > .group").nth(1)
    _pick(_add_condition(clinics, words, "tags"), words["tags"], words["clinic"])
    _add_condition(clinics, words, "million_plus")
    expect(clinics.locator(":scope > .group-head .group-count")).to_have_text("2")
    expect(page.locator("#eligible")).to_have_text("3")
    expect(root.locator(":scope > .group-head .group-count")).to_have_text("3")
    shot(page, "built")

    page.get_by_role("button", name=words["save"], exact=True).click()
    expect(page.locator("p.message")).to_contain_text(words["saved"])
    campaign = Campaign.objects.get(code="doctors-and-clinics")
    assert CampaignVersion.objects.get(campaign=campaign).rules["conditions"] == BUILT

    # Read back: the rows show what was saved, the counts come again, and a save without changes changes nothing.
    expect(page.locator("#eligible")).to_have_text("3")
    doctors = root.locator(":scope > .group-items > .group").nth(0)
    expect(doctors.locator(".chip")).to_have_count(2)
    expect(doctors.locator(".chip[data-value='doctor']")).to_be_visible()
    expect(doctors.locator(".chip", has_text=SIBERIA)).to_be_visible()
    expect(doctors.get_by_role("spinbutton", name=words["value"])).to_have_value("5")
    expect(root.locator(":scope > .group-head").get_by_role("combobox", name=words["join"])).to_have_value("any")
    shot(page, "read-back")
    page.set_viewport_size({"width": 390, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the tree wraps on a phone
    shot(page, "phone")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.get_by_role("button", name=words["save"], exact=True).click()
    expect(page.locator("p.message")).to_contain_text(words["saved"])
    assert [v.rules["conditions"] for v in CampaignVersion.objects.filter(campaign=campaign)] == [BUILT]

    # The advanced view round-trips: a changed number in the JSON shows in its row, and saves.
    page.get_by_text(words["advanced"]).click()
    tree = page.locator("#id_conditions_json")
    tree.fill(tree.input_value().replace('"value": 5', '"value": 3').replace('"value":5', '"value":3'))
    expect(doctors.get_by_role("spinbutton", name=words["value"])).to_have_value("3")
    expect(page.locator("#eligible")).to_have_text("3")
    shot(page, "json")
    page.get_by_role("button", name=words["save"], exact=True).click()
    expect(page.locator("p.message")).to_contain_text(words["saved"])
    assert CampaignVersion.objects.filter(campaign=campaign).get().rules["conditions"]["of"][0]["of"][2]["value"] == 3
    assert failures == []


def test_not_on_a_group_and_a_row_is_kept_and_counted(page, shot):
    """NOT of a whole group and of a single row: the counts follow, and the stored tree holds both."""
    sync_roles()
    marketer = User.objects.create_user("mila", password=PASSWORD, is_staff=True)
    marketer.groups.set([Group.objects.get(name=MARKETER)])
    _members()
    words = WORDS["ru-RU"]
    page.goto("/admin/login/?next=/office/campaign-new/")
    page.fill("#id_username", "mila")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/office/campaign-new/")
    root = page.locator("#condition-tree > .group")
    expect(page.locator("#eligible")).to_have_text("7")
    _pick(_add_condition(root, words, "tags"), words["tags"], words["doctor"])
    expect(page.locator("#eligible")).to_have_text("3")
    root.locator(":scope > .group-items > .condition").get_by_role("checkbox", name="не", exact=True).check()
    expect(page.locator("#eligible")).to_have_text("4")
    assert json.loads(page.locator("#id_conditions_json").input_value()) == {
        "type": "not", "of": {"type": "tags", "tags": ["doctor"], "match": "any"}}
    root.locator(":scope > .group-head").get_by_role("checkbox", name="не", exact=True).check()
    expect(page.locator("#eligible")).to_have_text("3")
    shot(page, "negated")
