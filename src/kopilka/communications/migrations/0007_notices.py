"""Personal notices: their settings (one per kind, shipped off, each with its own template in Russian and English,
editable in the template editor), the cursors that feed them, and a message's relevance window ("too late")."""

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone

# kind → (template code, purpose, days before, relevance in hours, name, (subject_ru, body_ru, subject_en, body_en))
NOTICES = {
    "points_accrued": ("notice-points-accrued", "transactional", None, 72, "Начислены бонусы", (
        "Начислено {{ notice.points|points }} бонусов",
        "{{ member.name }}, вам начислено {{ notice.points|points }} бонусов. "
        "Доступно к списанию: {{ balance.available|points }}.",
        "{{ notice.points|points }} points accrued",
        "{{ member.name }}, {{ notice.points|points }} points have been added to your account. "
        "You can spend {{ balance.available|points }} now.")),
    "points_spent": ("notice-points-spent", "transactional", None, 72, "Списаны бонусы", (
        "Списано {{ notice.points|points }} бонусов",
        "{{ member.name }}, списано {{ notice.points|points }} бонусов. "
        "Осталось: {{ balance.available|points }}.",
        "{{ notice.points|points }} points spent",
        "{{ member.name }}, {{ notice.points|points }} points have been spent. "
        "{{ balance.available|points }} are left.")),
    "points_expiring": ("notice-points-expiring", "transactional", 7, None, "Бонусы скоро сгорят", (
        "{{ notice.points|points }} бонусов сгорят после {{ notice.date|date:\"d.m\" }}",
        "{{ member.name }}, {{ notice.date|date:\"d.m.Y\" }} — последний день, чтобы потратить "
        "{{ notice.points|points }} бонусов: потом они сгорят.",
        "{{ notice.points|points }} points burn after {{ notice.date|date:\"d.m\" }}",
        "{{ member.name }}, {{ notice.date|date:\"d.m.Y\" }} is the last day to spend "
        "{{ notice.points|points }} points: then they burn.")),
    "tier_changed": ("notice-tier-changed", "transactional", None, 72, "Изменился статус", (
        "Ваш статус: {{ tier.name }}",
        "{{ member.name }}, ваш статус теперь «{{ tier.name }}»"
        "{% if notice.previous_tier %} (был «{{ notice.previous_tier }}»){% endif %}.",
        "Your tier: {{ tier.name }}",
        "{{ member.name }}, your tier is now {{ tier.name }}"
        "{% if notice.previous_tier %} (it was {{ notice.previous_tier }}){% endif %}.")),
    "campaign_started": ("notice-campaign-started", "marketing", None, 72, "Началась акция", (
        "Новая акция: {{ campaign.name }}",
        "{{ member.name }}, с {{ campaign.first_day|date:\"d.m\" }} действует акция «{{ campaign.name }}»"
        "{% if campaign.last_day %} — до {{ campaign.last_day|date:\"d.m\" }}{% endif %}.",
        "New offer: {{ campaign.name }}",
        "{{ member.name }}, “{{ campaign.name }}” runs from {{ campaign.first_day|date:\"d.m\" }}"
        "{% if campaign.last_day %} to {{ campaign.last_day|date:\"d.m\" }}{% endif %}.")),
    "campaign_ending": ("notice-campaign-ending", "marketing", 3, None, "Акция скоро закончится", (
        "Акция «{{ campaign.name }}» заканчивается {{ campaign.last_day|date:\"d.m\" }}",
        "{{ member.name }}, {{ campaign.last_day|date:\"d.m.Y\" }} — последний день акции «{{ campaign.name }}».",
        "“{{ campaign.name }}” ends on {{ campaign.last_day|date:\"d.m\" }}",
        "{{ member.name }}, {{ campaign.last_day|date:\"d.m.Y\" }} is the last day of “{{ campaign.name }}”.")),
}


def ship_notices(apps, schema_editor):
    """Each kind's template (kept when one of its code exists) and its setting, off."""
    template_model = apps.get_model("communications", "MessageTemplate")
    setting_model = apps.get_model("communications", "NoticeSetting")
    now = timezone.now()
    for kind, (code, purpose, days, hours, name, (subject_ru, body_ru, subject_en, body_en)) in NOTICES.items():
        template, _made = template_model.objects.get_or_create(code=code, defaults={
            "name": name, "channel": "email", "purpose": purpose, "subject_ru": subject_ru, "body_ru": body_ru,
            "subject_en": subject_en, "body_en": body_en, "relevance_hours": hours, "updated_at": now,
            "updated_by": "kopilka"})
        setting_model.objects.get_or_create(kind=kind, defaults={
            "template": template, "days_before": days, "updated_at": now, "updated_by": "kopilka"})


def forget_notices(apps, schema_editor):
    apps.get_model("communications", "NoticeSetting").objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0006_fewer_indexes'),
        ('communications', '0006_templates'),
    ]

    operations = [
        migrations.CreateModel(
            name='ExpiringRead',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('through_day', models.DateField(null=True)),
            ],
        ),
        migrations.CreateModel(
            name='NoticeCursor',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('position', models.BigIntegerField(default=0)),
                ('seen_before', models.BigIntegerField(default=0)),
                ('seen_up_to', models.BigIntegerField(default=0)),
                ('seen_xmax', models.BigIntegerField(null=True)),
            ],
            options={
                'abstract': False,
            },
        ),
        migrations.AddField(
            model_name='message',
            name='relevant_until',
            field=models.DateTimeField(blank=True, null=True, verbose_name='relevant until'),
        ),
        migrations.AlterField(
            model_name='message',
            name='skip_reason',
            field=models.CharField(blank=True, choices=[('no_address', 'no address'), ('not_a_phone', 'not a phone number'), ('no_consent', 'no consent'), ('unsubscribed', 'unsubscribed'), ('frequency_cap', 'frequency cap reached'), ('member_erased', 'member erased'), ('too_late', 'too late')], max_length=20, verbose_name='why skipped'),
        ),
        migrations.CreateModel(
            name='NoticeSetting',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('points_accrued', 'points accrued'), ('points_spent', 'points spent'), ('points_expiring', 'points about to burn'), ('tier_changed', 'tier changed'), ('campaign_started', 'campaign started'), ('campaign_ending', 'campaign ending soon')], max_length=40, unique=True, verbose_name='notice')),
                ('is_enabled', models.BooleanField(default=False, verbose_name='on')),
                ('on_since', models.DateTimeField(blank=True, null=True, verbose_name='on since')),
                ('days_before', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='days before')),
                ('updated_at', models.DateTimeField(verbose_name='changed at')),
                ('updated_by', models.CharField(max_length=150, verbose_name='changed by')),
                ('template', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='communications.messagetemplate', verbose_name='template')),
            ],
            options={
                'verbose_name': 'notice setting',
                'verbose_name_plural': 'notice settings',
                'ordering': ['id'],
            },
        ),
        migrations.CreateModel(
            name='CampaignNoticeRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('points_accrued', 'points accrued'), ('points_spent', 'points spent'), ('points_expiring', 'points about to burn'), ('tier_changed', 'tier changed'), ('campaign_started', 'campaign started'), ('campaign_ending', 'campaign ending soon')], max_length=40)),
                ('members', models.PositiveIntegerField(default=0)),
                ('done_at', models.DateTimeField(null=True)),
                ('campaign', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='campaigns.campaign')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('campaign', 'kind'), name='campaign_notice_once')],
            },
        ),
        migrations.RunPython(ship_notices, forget_notices),
    ]
