"""The outbox: events recorded in the transaction of their change, read afterwards by the webhooks."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0010_control_group_holdout'),
    ]

    operations = [
        migrations.CreateModel(
            name='OutboxEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('type', models.CharField(max_length=60, verbose_name='event type')),
                ('subject', models.CharField(max_length=120, verbose_name='about')),
                ('payload', models.JSONField(default=dict, verbose_name='data')),
                ('occurred_at', models.DateTimeField(verbose_name='occurred at')),
                ('key', models.CharField(blank=True, max_length=120, null=True, unique=True)),
                ('dispatched_at', models.DateTimeField(blank=True, null=True, verbose_name='dispatched at')),
            ],
            options={
                'verbose_name': 'event',
                'verbose_name_plural': 'events',
                'ordering': ['-id'],
                'indexes': [models.Index(condition=models.Q(('dispatched_at__isnull', True)), fields=['id'], name='outbox_event_waiting')],
            },
        ),
    ]
