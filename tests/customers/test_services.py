"""Writes to members: what each service stores, and that a refusal changes nothing."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.forms.models import model_to_dict

from kopilka.core.errors import Conflict, NotFound, ValidationFailed
from kopilka.core.models import AuditEvent
from kopilka.customers import services
from kopilka.customers.models import City, Consent, ExternalId, Member, MemberStatusChange
from kopilka.customers.selectors import consents_in_force

from .conftest import NOW

pytestmark = pytest.mark.django_db


def _individual(**overrides) -> Member:
    fields = {"last_name": "Иванова", "first_name": "Анна", "phone": "8 (912) 345-67-89"}
    return services.create_member(actor="t", **(fields | overrides))


def _company(**overrides) -> Member:
    fields = {"kind": "legal_entity", "legal_name": 'ПАО "Сбербанк"', "inn": "7707083893", "kpp": "773601001"}
    return services.create_member(actor="t", **(fields | overrides))


def _snapshot(member: Member) -> dict:
    """Everything stored about a member, to prove a refusal changed nothing."""
    member = Member.objects.get(pk=member.pk)
    return {
        "row": model_to_dict(member, exclude=["tags", "eligibility_flags"])
        | {"updated_at": member.updated_at},
        "search_text": member.search_text,
        "tags": sorted(member.tags.values_list("code", flat=True)),
        "flags": sorted(member.eligibility_flags.values_list("code", flat=True)),
        "external_ids": sorted(member.external_ids.values_list("system", "value")),
        "consents": sorted(member.consents.values_list("channel", "granted", "decided_at", "source")),
        "status_changes": list(member.status_changes.values_list("from_status", "to_status")),
    }


# Creating


def test_create_individual_stores_normal_forms(reference_books, frozen_now):
    member = services.create_member(actor="t", 
        last_name=" Иванова ",
        first_name="Анна",
        middle_name="Сергеевна",
        phone="8 (912) 345-67-89",
        email="Anna.Ivanova@Example.RU",
        birthday=date(1990, 5, 17),
        gender="female",
        region_code="54",
        city="Бердск",
        tags=["doctor"],
        eligibility_flags=["certified-injector"],
        registration_source="site",
        external_ids=[("site", "u-1001"), ("card", "2000000000017")],
    )

    member = Member.objects.get(pk=member.pk)
    assert member.kind == "individual"
    assert member.status == "active"
    assert (member.last_name, member.first_name, member.middle_name) == ("Иванова", "Анна", "Сергеевна")
    assert member.display_name == "Иванова Анна Сергеевна"
    assert member.phone == "+79123456789"
    assert member.email == "anna.ivanova@example.ru"
    assert member.birthday == date(1990, 5, 17)
    assert member.region.code == "54"
    assert (member.city.name, member.city.region.code, member.city.population) == ("Бердск", "54", None)
    assert list(member.tags.values_list("code", flat=True)) == ["doctor"]
    assert list(member.eligibility_flags.values_list("code", flat=True)) == ["certified-injector"]
    assert sorted(member.external_ids.values_list("system", "value")) == [
        ("card", "2000000000017"),
        ("site", "u-1001"),
    ]
    assert member.registered_at == NOW
    assert member.search_text == "иванова анна сергеевна"


def test_create_finds_an_existing_city_whatever_the_letter_case():
    cities_before = City.objects.count()

    member = _individual(region_code="54", city="  новосибирск ")

    assert member.city.name == "Новосибирск"
    assert member.city.population == 1_633_851
    assert City.objects.count() == cities_before


def test_create_legal_entity():
    member = _company(phone="+7 495 500-55-50")

    member = Member.objects.get(pk=member.pk)
    assert member.kind == "legal_entity"
    assert (member.inn, member.kpp) == ("7707083893", "773601001")
    assert member.display_name == 'ПАО "Сбербанк"'
    assert member.search_text == "пао сбербанк 7707083893"


def test_create_sole_proprietor_with_12_digit_inn():
    member = _company(legal_name="ИП Петров Пётр Петрович", inn="500100732259", kpp="")

    assert (member.kind, member.inn, member.kpp) == ("legal_entity", "500100732259", "")
    assert member.search_text == "ип петров петр петрович 500100732259"


def test_registered_at_given_naive_is_read_in_the_programme_time_zone():
    member = _individual(registered_at=datetime(2024, 12, 31, 23, 0))

    assert member.registered_at == datetime(2024, 12, 31, 20, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"last_name": "", "first_name": "", "phone": ""}, "last_name"),
        ({"inn": "7707083893"}, "inn"),
        ({"inn": "7707083894"}, "inn"),
        ({"kpp": "773601001"}, "kpp"),
        ({"legal_name": "ООО Ромашка"}, "legal_name"),
        ({"phone": "12345"}, "phone"),
        ({"email": "anna@"}, "email"),
        ({"region_code": "00"}, "region_code"),
        ({"city": "Бердск"}, "city"),
        ({"gender": "other"}, "gender"),
        ({"kind": "robot"}, "kind"),
        ({"birthday": date(1899, 12, 31)}, "birthday"),
        ({"birthday": "1990-05-17"}, "birthday"),
        ({"last_name": "Я" * 101}, "last_name"),
        ({"tags": ["doctor", "vip"]}, "tags"),
        ({"eligibility_flags": ["pilot"]}, "eligibility_flags"),
        ({"external_ids": [("fax", "1")]}, "system"),
    ],
)
def test_invalid_individual_is_refused_and_nothing_is_stored(reference_books, fields, field):
    cities_before = City.objects.count()

    with pytest.raises(ValidationFailed) as refused:
        _individual(region_code=None, **fields) if "city" in fields else _individual(**fields)

    assert refused.value.details["field"] == field
    assert Member.objects.count() == 0
    assert City.objects.count() == cities_before


def test_birthday_in_the_future_is_refused(frozen_now):
    with pytest.raises(ValidationFailed) as refused:
        _individual(birthday=date(2025, 3, 15))

    assert refused.value.details == {"field": "birthday"}
    assert _individual(birthday=date(2025, 3, 14)).birthday == date(2025, 3, 14)


def test_unknown_tag_error_lists_the_known_codes(reference_books):
    with pytest.raises(ValidationFailed) as refused:
        _individual(tags=["vip", "doctor", "gold"])

    assert refused.value.details == {
        "field": "tags",
        "unknown": ["gold", "vip"],
        "known": ["clinic-a", "doctor"],
    }
    assert str(refused.value.message) == "Unknown codes: gold, vip. Known codes: clinic-a, doctor."


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"legal_name": ""}, "legal_name"),
        ({"inn": ""}, "inn"),
        ({"inn": "500100732259"}, "kpp"),
        ({"kpp": "77360100"}, "kpp"),
    ],
)
def test_invalid_legal_entity_is_refused(fields, field):
    with pytest.raises(ValidationFailed) as refused:
        _company(**fields)

    assert refused.value.details["field"] == field
    assert Member.objects.count() == 0


def test_inn_of_a_live_legal_entity_cannot_be_taken_twice():
    first = _company()

    with pytest.raises(Conflict) as refused:
        _company(legal_name="Сбербанк России", kpp="")

    assert refused.value.code == "inn_taken"
    assert refused.value.details == {"field": "inn", "inn": "7707083893"}
    assert list(Member.objects.values_list("pk", flat=True)) == [first.pk]


def test_inn_is_free_again_once_its_holder_is_erased():
    first = _company()
    services.erase_member(member_id=first.pk, actor="user:dpo")

    second = _company()

    assert second.inn == "7707083893"


def test_individuals_may_share_phone_email_and_inn():
    one = _individual(email="family@example.ru", inn="500100732259")
    two = _individual(first_name="Пётр", email="family@example.ru", inn="500100732259")

    assert (one.phone, one.email, one.inn) == (two.phone, two.email, two.inn)


def test_external_id_clash_on_create_changes_nothing():
    holder = _individual(external_ids=[("onec", "9a1f0c2e-1111-2222-3333-444455556666")])
    cities_before = City.objects.count()

    with pytest.raises(Conflict) as refused:
        _individual(
            first_name="Пётр",
            region_code="54",
            city="Бердск",
            external_ids=[("site", "u-7"), ("onec", "9a1f0c2e-1111-2222-3333-444455556666")],
        )

    assert refused.value.code == "external_id_taken"
    assert list(Member.objects.values_list("pk", flat=True)) == [holder.pk]
    assert list(ExternalId.objects.values_list("member_id", "system")) == [(holder.pk, "onec")]
    assert City.objects.count() == cities_before


# Updating


def test_update_changes_only_the_given_fields(reference_books):
    member = _individual(email="anna@example.ru", region_code="54", city="Бердск", tags=["doctor"])

    services.update_member(actor="t", 
        member_id=member.pk, last_name="Смирнова", phone="+7 (913) 000-00-01", tags=["clinic-a", "doctor"]
    )

    member = Member.objects.get(pk=member.pk)
    assert (member.last_name, member.first_name) == ("Смирнова", "Анна")
    assert member.phone == "+79130000001"
    assert member.email == "anna@example.ru"
    assert member.city.name == "Бердск"
    assert sorted(member.tags.values_list("code", flat=True)) == ["clinic-a", "doctor"]
    assert member.search_text == "смирнова анна"


def test_update_to_another_region_drops_the_old_city():
    member = _individual(region_code="54", city="Бердск")

    services.update_member(actor="t", member_id=member.pk, region_code="77")

    member = Member.objects.get(pk=member.pk)
    assert (member.region.code, member.city) == ("77", None)


def test_update_clears_fields_given_as_none_or_blank(reference_books):
    member = _individual(
        email="anna@example.ru", birthday=date(1990, 5, 17), tags=["doctor"], region_code="54"
    )

    services.update_member(actor="t", member_id=member.pk, email=None, birthday=None, tags=[], region_code="", phone="")

    member = Member.objects.get(pk=member.pk)
    assert (member.email, member.birthday, member.region, member.phone) == ("", None, None, "")
    assert member.tags.count() == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"last_name": "", "first_name": "", "phone": ""}, "last_name"),
        ({"status": "blocked"}, "status"),
        ({"tags": ["vip"]}, "tags"),
        ({"kind": "legal_entity"}, "legal_name"),
    ],
)
def test_refused_update_changes_nothing(reference_books, changes, field):
    member = _individual(tags=["doctor"], region_code="54", city="Бердск")
    before = _snapshot(member)

    with pytest.raises(ValidationFailed) as refused:
        services.update_member(actor="t", member_id=member.pk, **changes)

    assert refused.value.details["field"] == field
    assert _snapshot(member) == before


def test_update_turning_an_individual_into_a_company():
    member = _individual()

    services.update_member(actor="t", 
        member_id=member.pk, kind="legal_entity", legal_name="ООО Ромашка", inn="7736207543"
    )

    member = Member.objects.get(pk=member.pk)
    assert (member.kind, member.display_name) == ("legal_entity", "ООО Ромашка")
    assert member.search_text == "иванова анна ооо ромашка 7736207543"


def test_update_to_a_taken_inn_is_a_conflict():
    _company()
    other = _company(legal_name="ООО Яндекс", inn="7736207543")
    before = _snapshot(other)

    with pytest.raises(Conflict) as refused:
        services.update_member(actor="t", member_id=other.pk, inn="7707083893")

    assert refused.value.code == "inn_taken"
    assert _snapshot(other) == before


def test_update_of_a_missing_member_is_not_found():
    with pytest.raises(NotFound) as refused:
        services.update_member(actor="t", member_id=404, first_name="Анна")

    assert refused.value.code == "member_not_found"
    assert refused.value.details == {"member_id": 404}


# Blocking and erasing


def test_block_and_unblock_keep_a_history(frozen_now):
    member = _individual()

    services.block_member(member_id=member.pk, reason="Подозрение на мошенничество", actor="user:support")
    blocked = Member.objects.get(pk=member.pk)
    services.unblock_member(member_id=member.pk, actor="user:lead", reason="Проверено")
    unblocked = Member.objects.get(pk=member.pk)

    assert (blocked.status, blocked.blocked_reason, blocked.can_earn_or_spend) == (
        "blocked",
        "Подозрение на мошенничество",
        False,
    )
    assert (unblocked.status, unblocked.blocked_reason, unblocked.can_earn_or_spend) == ("active", "", True)
    assert list(
        MemberStatusChange.objects.filter(member=member).values_list(
            "from_status", "to_status", "reason", "actor", "changed_at"
        )
    ) == [
        ("active", "blocked", "Подозрение на мошенничество", "user:support", NOW),
        ("blocked", "active", "Проверено", "user:lead", NOW),
    ]


def test_block_needs_a_reason():
    member = _individual()

    with pytest.raises(ValidationFailed) as refused:
        services.block_member(member_id=member.pk, reason="  ", actor="user:support")

    assert refused.value.details == {"field": "reason"}
    assert Member.objects.get(pk=member.pk).status == "active"
    assert MemberStatusChange.objects.count() == 0


def test_blocking_twice_is_a_conflict_and_keeps_the_first_reason():
    member = _individual()
    services.block_member(member_id=member.pk, reason="Первая причина", actor="user:support")

    with pytest.raises(Conflict) as refused:
        services.block_member(member_id=member.pk, reason="Вторая причина", actor="user:support")

    assert refused.value.code == "member_already_blocked"
    assert Member.objects.get(pk=member.pk).blocked_reason == "Первая причина"
    assert MemberStatusChange.objects.count() == 1


def test_unblocking_an_active_member_is_a_conflict():
    member = _individual()

    with pytest.raises(Conflict) as refused:
        services.unblock_member(member_id=member.pk, actor="user:support")

    assert refused.value.code == "member_not_blocked"
    assert MemberStatusChange.objects.count() == 0


def test_erase_blanks_personal_data_and_keeps_the_row(reference_books, frozen_now):
    member = _individual(
        middle_name="Сергеевна",
        email="anna@example.ru",
        birthday=date(1990, 5, 17),
        gender="female",
        inn="500100732259",
        region_code="54",
        city="Бердск",
        tags=["doctor"],
        eligibility_flags=["certified-injector"],
        registration_source="site",
        external_ids=[("site", "u-1001")],
    )
    services.set_consent(actor="t", member_id=member.pk, channel="email", granted=True, source="site")
    services.block_member(member_id=member.pk, reason="Просьба клиента", actor="user:support")

    services.erase_member(member_id=member.pk, actor="user:dpo")

    erased = Member.objects.get(pk=member.pk)
    assert erased.status == "deleted"
    for field in ("last_name", "first_name", "middle_name", "legal_name", "inn", "kpp", "phone", "email"):
        assert getattr(erased, field) == "", field
    assert (erased.birthday, erased.gender, erased.city, erased.blocked_reason) == (None, "", None, "")
    assert (erased.search_text, erased.display_name, str(erased)) == ("", "", f"#{member.pk}")
    assert (erased.region.code, erased.registration_source, erased.registered_at) == ("54", "site", NOW)
    assert erased.tags.count() == erased.eligibility_flags.count() == 0
    assert ExternalId.objects.filter(member=member).count() == 0
    assert Consent.objects.filter(member=member).count() == 0
    assert MemberStatusChange.objects.filter(member=member).last().to_status == "deleted"
    assert MemberStatusChange.objects.filter(member=member).last().actor == "user:dpo"
    erased_event = AuditEvent.objects.get(action="member.erased")
    assert (erased_event.actor, erased_event.member_id) == ("user:dpo", member.pk)


def test_erased_member_cannot_change_any_more():
    member = _individual()
    services.erase_member(member_id=member.pk, actor="user:dpo")
    before = _snapshot(member)

    attempts = [
        lambda: services.update_member(actor="t", member_id=member.pk, first_name="Анна"),
        lambda: services.block_member(member_id=member.pk, reason="x", actor="user:support"),
        lambda: services.unblock_member(member_id=member.pk, actor="user:support"),
        lambda: services.erase_member(member_id=member.pk, actor="user:dpo"),
        lambda: services.set_consent(actor="t", member_id=member.pk, channel="sms", granted=True, source="till"),
        lambda: services.add_external_id(actor="t", member_id=member.pk, system="card", value="1"),
    ]
    for attempt in attempts:
        with pytest.raises(Conflict) as refused:
            attempt()
        assert refused.value.code == "member_deleted"
    assert _snapshot(member) == before


# Consents


def test_newest_consent_per_channel_is_in_force_and_history_is_kept(frozen_now):
    member = _individual()
    t1, t2 = NOW - timedelta(days=10), NOW - timedelta(days=2)

    services.set_consent(actor="t", member_id=member.pk, channel="email", granted=True, source="site form", at=t1)
    services.set_consent(actor="t", 
        member_id=member.pk, channel="email", granted=False, source="unsubscribe link", at=t2
    )
    services.set_consent(actor="t", member_id=member.pk, channel="sms", granted=True, source="till 12")
    # A paper form entered late does not override the newer decision.
    services.set_consent(actor="t", 
        member_id=member.pk, channel="email", granted=True, source="paper form", at=t1 + timedelta(days=1)
    )

    in_force = consents_in_force([member.pk])[member.pk]
    assert {ch: (c.granted, c.source, c.decided_at) for ch, c in in_force.items()} == {
        "email": (False, "unsubscribe link", t2),
        "sms": (True, "till 12", NOW),
    }
    assert list(
        Consent.objects.filter(member=member, channel="email")
        .order_by("decided_at")
        .values_list("granted", "source")
    ) == [(True, "site form"), (True, "paper form"), (False, "unsubscribe link")]


def test_blocked_member_may_withdraw_a_consent():
    member = _individual()
    services.block_member(member_id=member.pk, reason="Проверка", actor="user:support")

    consent = services.set_consent(actor="t", member_id=member.pk, channel="sms", granted=False, source="call centre")

    assert (consent.channel, consent.granted) == ("sms", False)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"channel": "pigeon"}, "channel"),
        ({"source": " "}, "source"),
        ({"at": NOW + timedelta(minutes=6)}, "decided_at"),
    ],
)
def test_invalid_consent_is_refused(frozen_now, kwargs, field):
    member = _individual()
    arguments = {"channel": "email", "granted": True, "source": "site", "at": None} | kwargs

    with pytest.raises(ValidationFailed) as refused:
        services.set_consent(actor="t", member_id=member.pk, **arguments)

    assert refused.value.details["field"] == field
    assert Consent.objects.count() == 0


# External ids


def test_add_external_id_is_idempotent_for_its_holder():
    member = _individual()

    first, created = services.add_external_id(actor="t", member_id=member.pk, system="card", value=" 2000000000017 ")
    again, created_again = services.add_external_id(actor="t",
                                                    member_id=member.pk, system="card", value="2000000000017")

    assert (created, created_again) == (True, False)
    assert first.pk == again.pk
    assert list(ExternalId.objects.values_list("member_id", "system", "value")) == [
        (member.pk, "card", "2000000000017")
    ]


def test_same_value_in_another_system_is_another_id():
    one = _individual(external_ids=[("card", "1001")])
    two = _individual(first_name="Пётр")

    services.add_external_id(actor="t", member_id=two.pk, system="site", value="1001")

    assert sorted(ExternalId.objects.values_list("member_id", "system")) == [
        (one.pk, "card"),
        (two.pk, "site"),
    ]


def test_external_id_of_another_member_is_a_conflict():
    holder = _individual(external_ids=[("card", "2000000000017")])
    other = _individual(first_name="Пётр")

    with pytest.raises(Conflict) as refused:
        services.add_external_id(actor="t", member_id=other.pk, system="card", value="2000000000017")

    assert refused.value.code == "external_id_taken"
    assert refused.value.details == {"field": "value", "system": "card", "value": "2000000000017"}
    assert list(ExternalId.objects.values_list("member_id", flat=True)) == [holder.pk]
