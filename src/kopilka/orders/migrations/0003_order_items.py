from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0002_purchase_flow"),
    ]

    # Orders written before the column existed get it from their lines (both databases speak this SQL).
    operations = [
        migrations.AddField(
            model_name="order",
            name="items",
            field=models.DecimalField(db_default=0, decimal_places=3, default=0, max_digits=12,
                                      help_text="the lines' quantities less what was returned",
                                      verbose_name="items kept"),
        ),
        migrations.RunSQL(
            """UPDATE orders_order SET items = COALESCE((SELECT SUM(l.quantity - l.returned_quantity)
                                                         FROM orders_orderline l WHERE l.order_id = orders_order.id), 0)""",
            migrations.RunSQL.noop,
        ),
    ]
