import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('communications', '0012_plan_journeys'),
    ]

    operations = [
        migrations.AddField(
            model_name='campaignnoticerun',
            name='started_at',
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name='campaignnoticerun',
            name='template',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='communications.messagetemplate'),
        ),
        migrations.AddField(
            model_name='campaignnoticerun',
            name='through_member',
            field=models.BigIntegerField(default=0),
        ),
    ]
