"""Purchases (SPEC §4.5, §7): orders (receipts) with lines, from tills, the web shop, 1C or a history import.

Invariants:
- an order is identified by (source, external_id): a replay of the same purchase from the same source is
  refused by the database, which is what makes imports and POS retries idempotent;
- order.total = Σ line.amount of its lines; money is Decimal with kopecks, never float;
- an order without a member is a non-member's purchase, kept so analytics can compare members with everyone
  else;
- columns added after the first schema carry database defaults, so set-based imports need not name them.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from kopilka.customers.models import Member, Region

MONEY = {"max_digits": 14, "decimal_places": 2}
QUANTITY = {"max_digits": 12, "decimal_places": 3}


class ImportBatch(models.Model):
    """One run of a purchase history import, with what it added. Written in the import's own transaction, so a
    batch that exists is complete."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        COMPLETED = "completed", _("completed")

    file_name = models.CharField(_("file name"), max_length=255)
    file_sha256 = models.CharField(_("SHA-256 of the file"), max_length=64, db_index=True)
    source = models.CharField(_("source"), max_length=20)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    orders_created = models.PositiveIntegerField(_("orders created"), default=0)
    lines_created = models.PositiveIntegerField(_("lines created"), default=0)
    members_created = models.PositiveIntegerField(_("members created"), default=0)
    non_member_orders = models.PositiveIntegerField(_("orders of non-members"), default=0)
    skipped_existing = models.PositiveIntegerField(_("orders skipped as already imported"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    actor = models.CharField(_("started by"), max_length=150, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("purchase import")
        verbose_name_plural = _("purchase imports")

    def __str__(self) -> str:
        return f"{self.file_name} ({self.started_at:%Y-%m-%d %H:%M})"


class Order(models.Model):
    """A purchase: a till's receipt, a web shop order, a 1C document or the rows of an imported file."""

    class Status(models.TextChoices):
        NEW = "new", _("new")
        PAID = "paid", _("paid")
        SHIPPED = "shipped", _("shipped")
        COMPLETED = "completed", _("completed")
        CANCELLED = "cancelled", _("cancelled")
        RETURNED = "returned", _("returned")

    member = models.ForeignKey(
        Member,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("member"),
        db_index=False,  # order_member_purchased (member, purchased_at) serves lookups by member
        help_text=_("empty for a purchase of a non-member"),
    )
    source = models.CharField(_("source"), max_length=20, help_text=_("import, pos, shop, onec, ..."))
    external_id = models.CharField(_("external id"), max_length=100)
    purchased_at = models.DateTimeField(_("purchased at"))
    total = models.DecimalField(_("total"), **MONEY)
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("region"),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.NEW)
    discount = models.DecimalField(_("discount by points"), default=0, db_default=0, **MONEY)
    points_spent = models.BigIntegerField(_("points spent"), default=0, db_default=0)
    # Kept by the writers of lines and returns, so that analytics read the receipt's structure without its lines.
    items = models.DecimalField(_("items kept"), default=0, db_default=0,
                                help_text=_("the lines' quantities less what was returned"), **QUANTITY)
    hold = models.ForeignKey(
        "ledger.Hold", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("hold")
    )
    offline = models.BooleanField(
        _("sent after being offline"), default=False, db_default=False,
        help_text=_("a receipt a till buffered: it earns, never spends"),
    )
    request_hash = models.CharField(max_length=64, blank=True, editable=False, default="", db_default="")
    import_batch = models.ForeignKey(
        ImportBatch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("purchase import"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="order_unique_per_source")
        ]
        indexes = [
            models.Index(fields=["member", "purchased_at"], name="order_member_purchased"),
            models.Index(fields=["purchased_at"], name="order_purchased"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


# Orders that count as purchases (for conditions, tiers and analytics): paid, and not cancelled or returned.
COUNTED_STATUSES = (Order.Status.PAID, Order.Status.SHIPPED, Order.Status.COMPLETED)


class OrderLine(models.Model):
    """One line of a receipt; `amount` is what the line cost after discounts, not always quantity × price."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order"),
                              db_index=False)  # order_line_unique_number (order, line_no) serves lookups by order
    line_no = models.PositiveIntegerField(_("line number"))
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    quantity = models.DecimalField(_("quantity"), **QUANTITY)
    price = models.DecimalField(_("price"), **MONEY)
    amount = models.DecimalField(_("amount"), **MONEY)
    discount = models.DecimalField(_("discount by points"), default=0, db_default=0, **MONEY)
    points_spent = models.BigIntegerField(_("points spent"), default=0, db_default=0)
    returned_quantity = models.DecimalField(_("returned quantity"), default=0, db_default=0, **QUANTITY)

    class Meta:
        ordering = ["order", "line_no"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [models.UniqueConstraint(fields=["order", "line_no"], name="order_line_unique_number")]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.line_no}"


class OrderStatusChange(models.Model):
    """Who moved an order from one status to another, and when. Rows are only ever added."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(_("from status"), max_length=10, choices=Order.Status.choices)
    to_status = models.CharField(_("to status"), max_length=10, choices=Order.Status.choices)
    actor = models.CharField(_("actor"), max_length=150)
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        ordering = ["changed_at", "id"]
        verbose_name = _("order status change")
        verbose_name_plural = _("order status changes")


class OrderReturn(models.Model):
    """One return of some of an order's lines, under the key its sender gave, so a retry changes nothing."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    key = models.CharField(_("key"), max_length=200)
    quantities = models.JSONField(_("returned quantities by line"))
    actor = models.CharField(_("actor"), max_length=150)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("return")
        verbose_name_plural = _("returns")
        constraints = [models.UniqueConstraint(fields=["order", "key"], name="order_return_unique_key")]


class OrderPoints(models.Model):
    """A ledger entry an order caused — what it earned (per campaign version), spent, and what its returns took
    back or gave back — with how the points split over the order's lines. Returns read it to know what to undo.
    Rows are only ever added."""

    class Kind(models.TextChoices):
        EARN = "earn", _("earned")
        SPEND = "spend", _("spent")
        REVERSAL = "reversal", _("earned points taken back")
        RESTORE = "restore", _("spent points given back")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="points")
    entry = models.OneToOneField("ledger.Entry", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    scenario = models.CharField(_("scenario"), max_length=10, blank=True)
    campaign = models.CharField(_("campaign version"), max_length=100, blank=True)
    points = models.BigIntegerField(_("points"))
    by_line = models.JSONField(_("points by line"), default=dict)
    undoes = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="undone_by")
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("points of an order")
        verbose_name_plural = _("points of orders")


class ImportRow(models.Model):
    """A checked row of a file being imported, staged so orders and lines can be built with set-based SQL.

    Rows live only inside the import's transaction: the import deletes its batch's rows before it commits.
    Money and quantities are integers in minor units (kopecks, thousandths), so sums in SQL are exact on every
    database. `order_key` is the order's external id; `content_key` is set for rows without an order id and is
    the hash their order key is derived from.
    """

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, db_index=False, related_name="+")
    line_no = models.PositiveIntegerField()
    order_key = models.CharField(max_length=100)
    content_key = models.CharField(max_length=40, blank=True)
    customer_ref = models.CharField(max_length=100, blank=True)
    purchased_at = models.DateTimeField()
    sku = models.CharField(max_length=64, blank=True)
    quantity_thousandths = models.BigIntegerField()
    price_kopecks = models.BigIntegerField()
    amount_kopecks = models.BigIntegerField()
    region = models.ForeignKey(
        Region, on_delete=models.DO_NOTHING, null=True, db_constraint=False, db_index=False, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["batch", "order_key", "line_no"], name="importrow_order"),
            models.Index(fields=["batch", "content_key", "line_no"], name="importrow_content"),
            models.Index(fields=["batch", "customer_ref"], name="importrow_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.line_no}"
