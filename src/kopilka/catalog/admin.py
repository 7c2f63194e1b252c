"""The catalogue in the Django admin: browse and search. Changes go through the services (upsert API, and the
Excel import of the back office), which keep the group paths and check a batch whole."""

from django.contrib import admin

from kopilka.catalog.models import Product, ProductGroup
from kopilka.core.admin import AuditedAdmin


@admin.register(ProductGroup)
class ProductGroupAdmin(AuditedAdmin):
    list_display = ["indented_name", "code", "parent"]
    search_fields = ["code", "name"]
    readonly_fields = ["code", "name", "parent", "updated_at"]

    @admin.display(description=ProductGroup._meta.get_field("name").verbose_name)
    def indented_name(self, group: ProductGroup) -> str:
        return "\u2003" * group.depth + group.name

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Product)
class ProductAdmin(AuditedAdmin):
    list_display = ["sku", "name", "group", "price", "is_partner", "is_active"]
    list_filter = ["is_partner", "is_active", "group"]
    search_fields = ["sku", "name"]
    list_select_related = ["group"]
    readonly_fields = ["sku", "name", "group", "price", "is_partner", "is_active", "updated_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
