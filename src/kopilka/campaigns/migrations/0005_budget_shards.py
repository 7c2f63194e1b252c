"""A campaign's budget is kept as shards of what it has left (`campaigns.budgets`) instead of one spent counter on
the campaign's row, which every grant of the programme had to lock. What each budget had left is split evenly over
eight shards."""

import django.db.models.deletion
from django.db import migrations, models

SHARDS = 8  # campaigns.budgets.SHARDS when this migration was written


def split_budgets(apps, schema_editor):
    Campaign = apps.get_model("campaigns", "Campaign")
    BudgetShard = apps.get_model("campaigns", "BudgetShard")
    shards = []
    for pk, budget, spent in Campaign.objects.filter(budget_points__isnull=False).values_list(
        "pk", "budget_points", "budget_spent"
    ):
        left = max(budget - spent, 0)
        shards += [
            BudgetShard(campaign_id=pk, number=n, points_left=left // SHARDS + (n < left % SHARDS))
            for n in range(SHARDS)
        ]
    BudgetShard.objects.bulk_create(shards)


def join_budgets(apps, schema_editor):
    Campaign = apps.get_model("campaigns", "Campaign")
    for campaign in Campaign.objects.filter(budget_points__isnull=False):
        left = campaign.budget_shards.aggregate(left=models.Sum("points_left"))["left"] or 0
        campaign.budget_spent = campaign.budget_points - left
        campaign.save(update_fields=["budget_spent"])


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0004_event_types")]

    operations = [
        migrations.CreateModel(
            name="BudgetShard",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("number", models.PositiveSmallIntegerField()),
                ("points_left", models.BigIntegerField()),
                ("campaign", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                               related_name="budget_shards", to="campaigns.campaign")),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("campaign", "number"), name="budget_shard_unique"),
                    models.CheckConstraint(condition=models.Q(("points_left__gte", 0)),
                                           name="budget_shard_not_overdrawn"),
                ],
            },
        ),
        migrations.RunPython(split_budgets, join_budgets),
        migrations.RemoveConstraint(model_name="campaign", name="campaign_budget_not_exceeded"),
        migrations.RemoveField(model_name="campaign", name="budget_spent"),
    ]
