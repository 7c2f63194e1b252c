"""Purchases and purchase imports in the administration, shown, never written: a receipt comes through the purchase
flow or an import (its points, holds and history with it), an import's record is the import command's."""

from django.contrib import admin

from kopilka.core.admin import ReadOnlyAdmin, ReadOnlyInline
from kopilka.orders.models import ImportBatch, Order, OrderLine


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["line_no", "sku", "quantity", "price", "amount"]


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["id", "source", "external_id", "member", "purchased_at", "total", "region", "status"]
    list_filter = ["source", "status", "region"]
    search_fields = ["external_id"]
    date_hierarchy = "purchased_at"
    raw_id_fields = ["member", "import_batch"]
    list_select_related = ["member", "region"]
    inlines = [OrderLineInline]


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at",
        "file_name",
        "source",
        "rows",
        "orders_created",
        "lines_created",
        "members_created",
        "non_member_orders",
        "skipped_existing",
        "status",
        "actor",
    ]
    list_filter = ["status", "source"]
    search_fields = ["file_name", "file_sha256", "actor"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
