"""The ledger's reference books: reason codes of manual operations and point categories with their redemption
rank (lower is spent first). Entries, lots and balances are read in the back office, never edited."""

from django.contrib import admin

from kopilka.core.admin import AuditedAdmin
from kopilka.ledger.models import LotCategory, ReasonCode


@admin.register(ReasonCode)
class ReasonCodeAdmin(AuditedAdmin):
    list_display = ["code", "name", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]


@admin.register(LotCategory)
class LotCategoryAdmin(AuditedAdmin):
    list_display = ["code", "name", "redemption_rank"]
    ordering = ["redemption_rank"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # lots name their category
