"""Default point categories and reason codes; triggers that make entries and allocations append-only."""

from django.db import migrations

CATEGORIES = [
    ("promo", "Промо-баллы", 10),
    ("compensation", "Компенсационные баллы", 20),
    ("base", "Базовые баллы", 30),
    ("debt", "Задолженность по баллам", 1000),
]

REASONS = [
    ("compensation-defect", "Компенсация: брак"),
    ("compensation-late-delivery", "Компенсация: задержка доставки"),
    ("compensation-complaint", "Компенсация по жалобе"),
    ("goodwill", "Жест доброй воли"),
    ("correction", "Исправление ошибки"),
    ("fraud", "Злоупотребление"),
    ("return", "Возврат покупки"),
    ("order-cancelled", "Отмена заказа"),
    ("member-request", "По просьбе участника"),
]

IMMUTABLE_TABLES = ["ledger_entry", "ledger_allocation"]


def seed(apps, schema_editor):
    LotCategory = apps.get_model("ledger", "LotCategory")
    ReasonCode = apps.get_model("ledger", "ReasonCode")
    for code, name, rank in CATEGORIES:
        LotCategory.objects.update_or_create(code=code, defaults={"name": name, "redemption_rank": rank})
    for code, name in REASONS:
        ReasonCode.objects.update_or_create(code=code, defaults={"name": name})


def install_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in IMMUTABLE_TABLES:
        if vendor == "postgresql":
            schema_editor.execute(
                f"""
                CREATE OR REPLACE FUNCTION {table}_refuse_change() RETURNS trigger AS $$
                BEGIN
                    RAISE EXCEPTION '{table} is append-only: %% refused', TG_OP
                        USING ERRCODE = 'restrict_violation';
                END $$ LANGUAGE plpgsql;
                CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
                    FOR EACH ROW EXECUTE FUNCTION {table}_refuse_change();
                """
            )
        elif vendor == "sqlite":
            # UPDATE only: SQLite has no TRUNCATE, and the test runner empties tables with DELETE.
            schema_editor.execute(
                f"""
                CREATE TRIGGER {table}_append_only BEFORE UPDATE ON {table}
                BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END;
                """
            )


def remove_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in IMMUTABLE_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only" + (f" ON {table}" if vendor == "postgresql" else ""))
        if vendor == "postgresql":
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {table}_refuse_change()")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
        migrations.RunPython(install_triggers, remove_triggers),
    ]
