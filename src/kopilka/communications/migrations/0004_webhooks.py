"""Webhooks: endpoints with their secrets, deliveries of outbox events with every attempt, and the cursor over the
ledger's entries — which starts at the newest entry, so an installation is not sent the whole of its past."""

import uuid

import django.db.models.deletion
from django.db import migrations, models


def start_at_the_newest_entry(apps, schema_editor):
    newest = apps.get_model("ledger", "Entry").objects.order_by("-id").values_list("id", flat=True).first() or 0
    apps.get_model("communications", "EntryCursor").objects.create(
        pk=1, position=newest, seen_before=newest, seen_up_to=newest)


class Migration(migrations.Migration):

    dependencies = [
        ('communications', '0003_message_next_try_at'),
        ('core', '0011_outbox'),
        ('ledger', '0014_lot_campaign_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='Endpoint',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('url', models.URLField(max_length=500, verbose_name='address')),
                ('description', models.CharField(blank=True, max_length=200, verbose_name='description')),
                ('event_types', models.JSONField(default=list, verbose_name='event types')),
                ('is_enabled', models.BooleanField(default=True, verbose_name='enabled')),
                ('disabled_reason', models.CharField(blank=True, max_length=300, verbose_name='why it is disabled')),
                ('disabled_at', models.DateTimeField(blank=True, null=True, verbose_name='disabled at')),
                ('allow_private', models.BooleanField(default=False, verbose_name='allow private addresses')),
                ('failing_since', models.DateTimeField(blank=True, null=True, verbose_name='failing since')),
                ('created_at', models.DateTimeField(verbose_name='created at')),
                ('updated_at', models.DateTimeField(verbose_name='changed at')),
            ],
            options={
                'verbose_name': 'webhook endpoint',
                'verbose_name_plural': 'webhook endpoints',
                'ordering': ['id'],
                'permissions': [('manage_webhooks', 'Manage webhooks'), ('allow_private_webhook_addresses', 'Allow webhooks to private addresses')],
            },
        ),
        migrations.CreateModel(
            name='EntryCursor',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('position', models.BigIntegerField(default=0)),
                ('seen_before', models.BigIntegerField(default=0)),
                ('seen_up_to', models.BigIntegerField(default=0)),
                ('seen_xmax', models.BigIntegerField(null=True)),
            ],
        ),
        migrations.CreateModel(
            name='Delivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('uid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('status', models.CharField(choices=[('pending', 'pending'), ('delivered', 'delivered'), ('failed', 'failed')], default='pending', max_length=10, verbose_name='status')),
                ('attempts', models.PositiveSmallIntegerField(default=0, verbose_name='tries')),
                ('error', models.TextField(blank=True, verbose_name='last error')),
                ('created_at', models.DateTimeField(verbose_name='created at')),
                ('window_from', models.DateTimeField()),
                ('next_try_at', models.DateTimeField(blank=True, null=True, verbose_name='next try at')),
                ('delivered_at', models.DateTimeField(blank=True, null=True, verbose_name='delivered at')),
                ('lease_until', models.DateTimeField(blank=True, null=True)),
                ('leased_by', models.CharField(blank=True, max_length=32)),
                ('event', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='core.outboxevent')),
                ('endpoint', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='communications.endpoint')),
            ],
            options={
                'verbose_name': 'webhook delivery',
                'verbose_name_plural': 'webhook deliveries',
                'ordering': ['-id'],
            },
        ),
        migrations.CreateModel(
            name='DeliveryAttempt',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('worker', models.CharField(max_length=32, verbose_name='worker')),
                ('started_at', models.DateTimeField(verbose_name='started at')),
                ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='finished at')),
                ('status_code', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='status code')),
                ('response', models.TextField(blank=True, verbose_name='answer')),
                ('error', models.TextField(blank=True, verbose_name='error')),
                ('duration_ms', models.PositiveIntegerField(blank=True, null=True, verbose_name='duration, ms')),
                ('delivery', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tries', to='communications.delivery')),
            ],
            options={
                'ordering': ['delivery', 'started_at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='EndpointSecret',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('secret', models.CharField(max_length=80)),
                ('created_at', models.DateTimeField(verbose_name='created at')),
                ('retires_at', models.DateTimeField(blank=True, null=True, verbose_name='retires at')),
                ('endpoint', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='secrets', to='communications.endpoint')),
            ],
            options={
                'ordering': ['endpoint', 'id'],
            },
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(condition=models.Q(('status', 'pending')), fields=['id'], name='delivery_pending'),
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(fields=['endpoint', '-id'], name='delivery_endpoint'),
        ),
        migrations.AddConstraint(
            model_name='delivery',
            constraint=models.UniqueConstraint(fields=('endpoint', 'event'), name='delivery_once_per_endpoint'),
        ),
        migrations.RunPython(start_at_the_newest_entry, migrations.RunPython.noop),
    ]
