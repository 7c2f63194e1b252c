
"""Event types become a reference book, holding the types that were built in (their codes stay valid)."""

from django.db import migrations, models

BUILT_IN = [
    ("registration", "Регистрация"), ("subscription", "Подписка"), ("review", "Отзыв"),
    ("training_completed", "Пройденное обучение"), ("birthday", "День рождения"),
    ("barcode_scan", "Сканирование штрихкода"), ("event_attendance", "Посещение мероприятия"),
    ("custom", "Другое событие"),
]


def seed(apps, schema_editor):
    EventType = apps.get_model("campaigns", "EventType")
    for code, name in BUILT_IN:
        EventType.objects.update_or_create(code=code, defaults={"name": name})


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0003_member_events'),
    ]

    operations = [
        migrations.CreateModel(
            name='EventType',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.SlugField(max_length=30, unique=True, verbose_name='code')),
                ('name', models.CharField(max_length=120, verbose_name='name')),
                ('is_active', models.BooleanField(default=True, verbose_name='active')),
            ],
            options={
                'verbose_name': 'event type',
                'verbose_name_plural': 'event types',
                'ordering': ['code'],
            },
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
