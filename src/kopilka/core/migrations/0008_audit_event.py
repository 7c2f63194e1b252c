"""The audit log moves to core (every door writes it); the rows the back office wrote so far come along."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

OLD = "backoffice_auditevent"
COLUMNS = "id, at, user_id, actor, action, member_id, target, summary, comment, details"


def bring_rows(apps, schema_editor):
    connection = schema_editor.connection
    if OLD not in connection.introspection.table_names():
        return
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO core_auditevent ({COLUMNS}) SELECT {COLUMNS} FROM {OLD}")
        if connection.vendor == "postgresql":
            cursor.execute("SELECT setval(pg_get_serial_sequence('core_auditevent', 'id'), COALESCE(MAX(id), 1), "
                           "MAX(id) IS NOT NULL) FROM core_auditevent")


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0007_programme_redemption_shop"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField(db_index=True, verbose_name="when")),
                ("actor", models.CharField(max_length=150, verbose_name="who")),
                ("action", models.CharField(db_index=True, max_length=60, verbose_name="action")),
                ("member_id", models.BigIntegerField(blank=True, null=True, verbose_name="member")),
                ("target", models.CharField(blank=True, max_length=120, verbose_name="record")),
                ("summary", models.CharField(max_length=300, verbose_name="summary")),
                ("comment", models.TextField(blank=True, verbose_name="comment")),
                ("details", models.JSONField(blank=True, default=dict, verbose_name="details")),
                ("user", models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                           to=settings.AUTH_USER_MODEL, verbose_name="user")),
            ],
            options={
                "verbose_name": "audit event",
                "verbose_name_plural": "audit log",
                "ordering": ["-at", "-id"],
                "indexes": [models.Index(fields=["member_id", "-at"], name="audit_event_member")],
            },
        ),
        migrations.RunPython(bring_rows, migrations.RunPython.noop),
    ]
