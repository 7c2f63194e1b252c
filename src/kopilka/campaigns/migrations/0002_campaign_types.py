from django.db import migrations

TYPES = [
    ("base", "Базовая", "base"),
    ("promo", "Промо", "promo"),
    ("compensation", "Компенсационная", "compensation"),
]


def load(apps, schema_editor):
    CampaignType = apps.get_model("campaigns", "CampaignType")
    for code, name, category in TYPES:
        CampaignType.objects.update_or_create(code=code, defaults={"name": name, "lot_category": category})


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
