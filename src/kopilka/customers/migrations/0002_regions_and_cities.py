"""Seeds the reference book of regions (subjects of the Russian Federation) and the million-plus cities.

The data lives in customers/data/regions.json. Running it again updates the rows in place; a later change of
the reference book belongs in a new migration with its own data, so that this one keeps its meaning.
"""

import json
from pathlib import Path

from django.db import migrations

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "regions.json"


def _load() -> dict:
    with DATA_FILE.open(encoding="utf-8") as f:
        return json.load(f)


def seed(apps, schema_editor):
    Region = apps.get_model("customers", "Region")
    City = apps.get_model("customers", "City")
    data = _load()
    regions = {}
    for row in data["regions"]:
        regions[row["code"]], _ = Region.objects.update_or_create(
            code=row["code"],
            defaults={
                "name": row["name"],
                "federal_district": row["federal_district"],
                "time_zone": row["time_zone"],
            },
        )
    for row in data["cities"]:
        City.objects.update_or_create(
            region=regions[row["region_code"]], name=row["name"], defaults={"population": row["population"]}
        )


def unseed(apps, schema_editor):
    Region = apps.get_model("customers", "Region")
    City = apps.get_model("customers", "City")
    data = _load()
    City.objects.filter(name__in=[row["name"] for row in data["cities"]]).delete()
    Region.objects.filter(code__in=[row["code"] for row in data["regions"]]).delete()


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
