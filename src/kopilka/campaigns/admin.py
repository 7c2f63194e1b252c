"""Campaign types as a reference book (base, promo, compensation and the programme's own); campaigns themselves
are built in the back office's campaign builder."""

from django.contrib import admin

from kopilka.campaigns.models import CampaignType, EventType
from kopilka.core.admin import AuditedAdmin


@admin.register(CampaignType)
class CampaignTypeAdmin(AuditedAdmin):
    list_display = ["code", "name", "lot_category"]
    search_fields = ["code", "name"]


@admin.register(EventType)
class EventTypeAdmin(AuditedAdmin):
    list_display = ["code", "name", "is_active"]
    list_filter = ["is_active"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # events and campaign rules name their type: retire one by making it inactive
