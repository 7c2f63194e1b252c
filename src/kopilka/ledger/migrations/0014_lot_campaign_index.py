"""The lots a campaign granted are found by their version and time: a partial index on (source_ref, accrued_at) of
the lots whose source kind is "campaign" (`campaigns.results` reads a campaign's figures for a period from it).
Neither column changes after a lot is born, so the index costs a spend nothing."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0013_accruals_keep_details'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='lot',
            index=models.Index(condition=models.Q(('source_kind', 'campaign')), fields=['source_ref', 'accrued_at'], name='lot_campaign'),
        ),
    ]
