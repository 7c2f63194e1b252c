"""The moment of a message's next try, after a failed one (None: at once)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("communications", "0002_message_leases_and_attempts"),
    ]

    operations = [
        migrations.AddField(
            model_name="message", name="next_try_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="next try at"),
        ),
    ]
