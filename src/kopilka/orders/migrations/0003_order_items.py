from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0002_purchase_flow"),
    ]

    # Orders written before the column existed get it from their lines in one join (UPDATE ... FROM: PostgreSQL,
    # and SQLite since 3.33); orders without lines keep 0.
    operations = [
        migrations.AddField(
            model_name="order",
            name="items",
            field=models.DecimalField(db_default=0, decimal_places=3, default=0, max_digits=12,
                                      help_text="the lines' quantities less what was returned",
                                      verbose_name="items kept"),
        ),
        migrations.RunSQL(
            """UPDATE orders_order SET items = kept.items
               FROM (SELECT order_id, SUM(quantity - returned_quantity) AS items FROM orders_orderline
                     GROUP BY order_id) AS kept
               WHERE kept.order_id = orders_order.id""",
            migrations.RunSQL.noop,
        ),
    ]
