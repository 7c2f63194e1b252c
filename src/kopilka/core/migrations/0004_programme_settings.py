# Programme settings saved on the administrator's screen (see kopilka.core.programme).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0003_apikey_scopes'),
    ]

    operations = [
        migrations.CreateModel(
            name='ProgrammeSettings',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('time_zone', models.CharField(blank=True, max_length=60, verbose_name='time zone')),
                ('redemption_order', models.CharField(blank=True, choices=[('category_fifo', 'promo, then compensation, then base points; oldest first'), ('soonest_expiring', 'the points that expire soonest first')], max_length=20, verbose_name='redemption order')),
                ('return_policy', models.CharField(blank=True, choices=[('take_available', 'take back what is left, forgive what was spent'), ('negative', 'book what was spent as a debt'), ('block', "refuse the return's reversal when points were spent")], max_length=20, verbose_name='return policy')),
                ('receipt_cap_percent', models.DecimalField(blank=True, decimal_places=2, max_digits=5, null=True, verbose_name='points pay at most, percent of a receipt')),
                ('default_lot_lifetime_days', models.PositiveIntegerField(blank=True, null=True, verbose_name='points live, days (unless a campaign says)')),
                ('point_value', models.DecimalField(blank=True, decimal_places=2, max_digits=8, null=True, verbose_name='1 point pays, ₽ (unless a campaign says)')),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('updated_by', models.CharField(blank=True, max_length=150)),
            ],
            options={
                'verbose_name': 'programme settings',
                'verbose_name_plural': 'programme settings',
            },
        ),
    ]
