"""The regions and million-plus cities seeded by migration 0002."""

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import kopilka.customers
from kopilka.customers.models import City, Region

DATA_FILE = Path(kopilka.customers.__file__).parent / "data" / "regions.json"


@pytest.mark.django_db
def test_every_subject_of_the_federation_is_seeded_once():
    assert Region.objects.count() == 89
    assert len(set(Region.objects.values_list("code", flat=True))) == 89


@pytest.mark.django_db
def test_every_region_time_zone_loads_in_zoneinfo():
    for name in Region.objects.values_list("time_zone", flat=True).distinct():
        assert ZoneInfo(name).key == name


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "name", "district", "zone"),
    [
        ("77", "Москва", "Центральный федеральный округ", "Europe/Moscow"),
        ("78", "Санкт-Петербург", "Северо-Западный федеральный округ", "Europe/Moscow"),
        ("54", "Новосибирская область", "Сибирский федеральный округ", "Asia/Novosibirsk"),
        ("39", "Калининградская область", "Северо-Западный федеральный округ", "Europe/Kaliningrad"),
        ("18", "Удмуртская Республика", "Приволжский федеральный округ", "Europe/Samara"),
        ("42", "Кемеровская область — Кузбасс", "Сибирский федеральный округ", "Asia/Novokuznetsk"),
        ("02", "Республика Башкортостан", "Приволжский федеральный округ", "Asia/Yekaterinburg"),
        ("03", "Республика Бурятия", "Дальневосточный федеральный округ", "Asia/Irkutsk"),
        ("87", "Чукотский автономный округ", "Дальневосточный федеральный округ", "Asia/Anadyr"),
    ],
)
def test_known_regions(code, name, district, zone):
    region = Region.objects.get(code=code)

    assert (region.name, region.federal_district, region.time_zone) == (name, district, zone)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "hours"),
    [
        ("39", 2),
        ("77", 3),
        ("34", 3),
        ("43", 3),
        ("63", 4),
        ("30", 4),
        ("64", 4),
        ("73", 4),
        ("66", 5),
        ("55", 6),
        ("22", 7),
        ("70", 7),
        ("24", 7),
        ("38", 8),
        ("75", 9),
        ("28", 9),
        ("25", 10),
        ("27", 10),
        ("49", 11),
        ("65", 11),
        ("41", 12),
    ],
)
def test_region_time_zone_has_the_legal_offset(code, hours):
    moment = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
    zone = ZoneInfo(Region.objects.get(code=code).time_zone)

    assert moment.astimezone(zone).utcoffset().total_seconds() == hours * 3600


@pytest.mark.django_db
def test_regions_per_federal_district():
    counts = Counter(Region.objects.values_list("federal_district", flat=True))

    assert counts == {
        "Центральный федеральный округ": 18,
        "Северо-Западный федеральный округ": 11,
        "Южный федеральный округ": 12,
        "Северо-Кавказский федеральный округ": 7,
        "Приволжский федеральный округ": 14,
        "Уральский федеральный округ": 6,
        "Сибирский федеральный округ": 10,
        "Дальневосточный федеральный округ": 11,
    }


@pytest.mark.django_db
def test_million_plus_cities_are_seeded_in_their_regions():
    cities = {c.name: c for c in City.objects.select_related("region")}

    assert len(cities) == 16
    assert all(c.is_million_plus for c in cities.values())
    assert (cities["Москва"].region.code, cities["Москва"].population) == ("77", 13_149_803)
    assert (cities["Новосибирск"].region.code, cities["Новосибирск"].population) == ("54", 1_633_851)
    assert cities["Уфа"].region.code == "02"
    assert cities["Волгоград"].region.code == "34"


@pytest.mark.django_db
def test_database_holds_exactly_the_data_file():
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))

    assert sorted(Region.objects.values_list("code", "name", "federal_district", "time_zone")) == sorted(
        (r["code"], r["name"], r["federal_district"], r["time_zone"]) for r in data["regions"]
    )
    assert sorted(City.objects.values_list("region__code", "name", "population")) == sorted(
        (c["region_code"], c["name"], c["population"]) for c in data["cities"]
    )
