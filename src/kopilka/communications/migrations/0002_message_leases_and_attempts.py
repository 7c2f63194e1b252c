"""Claims (leases) on queued messages, a stable id per message for its Message-ID, and a record of every try."""

import uuid

import django.db.models.deletion
from django.db import migrations, models


def give_ids(apps, schema_editor):
    message = apps.get_model("communications", "Message")
    for pk in message.objects.filter(uid__isnull=True).values_list("pk", flat=True).iterator():
        message.objects.filter(pk=pk).update(uid=uuid.uuid4())


class Migration(migrations.Migration):

    dependencies = [
        ("communications", "0001_initial"),
    ]

    operations = [
        migrations.AddField(model_name="message", name="uid", field=models.UUIDField(null=True, editable=False)),
        migrations.RunPython(give_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="message", name="uid",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True, verbose_name="message id"),
        ),
        migrations.AddField(model_name="message", name="lease_until", field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(model_name="message", name="leased_by", field=models.CharField(blank=True, max_length=32)),
        migrations.CreateModel(
            name="Attempt",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("worker", models.CharField(max_length=32, verbose_name="worker")),
                ("started_at", models.DateTimeField(verbose_name="started at")),
                ("finished_at", models.DateTimeField(blank=True, null=True, verbose_name="finished at")),
                ("outcome", models.CharField(blank=True, choices=[("sent", "sent"), ("failed", "failed")],
                                             max_length=10, verbose_name="outcome")),
                ("error", models.TextField(blank=True)),
                ("message", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="tries",
                                              to="communications.message")),
            ],
            options={"verbose_name": "sending attempt", "verbose_name_plural": "sending attempts",
                     "ordering": ["message", "started_at", "id"]},
        ),
    ]
