"""An administrator opens each reference book's existing entry in the administration, changes one field and saves:
the page shows the stored values before and after, and nothing but that field changed in the database. In Russian
and English."""

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from kopilka.backoffice.roles import ADMINISTRATOR, SUPPORT, sync_roles

PASSWORD = "a-long-browser-password-6"

# (model, the existing entry's fields, the field changed, its new value as typed, the same as stored)
FORMS = [
    ("customers.Tag", {"code": "doctor", "name": "Врач"}, "name", "Врач-косметолог", "Врач-косметолог"),
    ("customers.EligibilityFlag", {"code": "trained-peels", "name": "Обучен пилингам"}, "name", "Пилинги",
     "Пилинги"),
    ("customers.City", {"region_id": "54", "name": "Бердск", "population": 104_000}, "population", "105000",
     105_000),
    ("ledger.ReasonCode", {"code": "late", "name": "Опоздание", "is_active": True}, "name", "Опоздание курьера",
     "Опоздание курьера"),
    ("ledger.LotCategory", {"code": "gift", "name": "Подарочные", "redemption_rank": 40}, "redemption_rank", "45",
     45),
    ("campaigns.CampaignType", {"code": "season", "name": "Сезонная", "lot_category": "promo"}, "name",
     "Сезонная акция", "Сезонная акция"),
    ("campaigns.EventType", {"code": "webinar", "name": "Вебинар", "is_active": True}, "name", "Вебинар врача",
     "Вебинар врача"),
    ("backoffice.CompensationLimit", {"role": SUPPORT, "per_operation": 700, "per_day": 2500, "approve_up_to": 0},
     "per_day", "3000", 3000),
]


@pytest.mark.parametrize("locale", ["ru-RU", "en-US"])
@pytest.mark.parametrize(("label", "fields", "changed", "typed", "stored"), FORMS, ids=[row[0] for row in FORMS])
def test_an_existing_entry_changes_in_one_field_and_keeps_the_others(page_in, shot, label, fields, changed, typed,
                                                                     stored, locale):
    page = page_in(locale)
    sync_roles()
    admin = User.objects.create_user("admin-vera", password=PASSWORD, is_staff=True)
    admin.groups.set([Group.objects.get(name=ADMINISTRATOR)])
    model = apps.get_model(label)
    if label == "customers.City":
        fields = {**fields, "region_id": apps.get_model("customers.Region").objects.get(code="54").pk}
    if label == "backoffice.CompensationLimit":
        fields = {**fields, "role": Group.objects.get(name=SUPPORT)}
        model.objects.filter(role=fields["role"]).delete()
    entry = model.objects.create(**fields)
    before = model.objects.filter(pk=entry.pk).values().get()
    address = f"/admin/{model._meta.app_label}/{model._meta.model_name}/{entry.pk}/change/"

    page.goto(f"/admin/login/?next={address}")
    page.fill("#id_username", "admin-vera")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**{address}**")
    shown = {name: page.locator(f"#id_{name}").input_value() for name in _inputs(model, before)}
    page.fill(f"#id_{changed}", typed)
    page.locator("input[name=_continue]").click()
    page.wait_for_load_state()
    expect(page.locator(f"#id_{changed}")).to_have_value(typed)
    shot(page, "saved")
    assert {name: page.locator(f"#id_{name}").input_value() for name in shown if name != changed} == {
        name: value for name, value in shown.items() if name != changed}
    after = model.objects.filter(pk=entry.pk).values().get()
    field = model._meta.get_field(changed).attname
    assert after[field] == stored
    assert {k: v for k, v in after.items() if k != field} == {k: v for k, v in before.items() if k != field}


def _inputs(model, row: dict) -> list[str]:
    """The form's inputs of the stored fields (a foreign key's input is named by the field)."""
    names = []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.attname not in row:
            continue
        names.append(field.name)
    return names
