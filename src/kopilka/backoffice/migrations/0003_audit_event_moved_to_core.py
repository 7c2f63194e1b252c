"""The audit log now lives in core (its rows were copied by core 0008_audit_event)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("backoffice", "0002_widget_links"),
        ("core", "0008_audit_event"),
    ]

    operations = [
        migrations.DeleteModel(name="AuditEvent"),
    ]
