"""Campaign types as a reference book (base, promo, compensation and the programme's own); campaigns themselves
are built in the back office's campaign builder."""

from django.contrib import admin

from kopilka.campaigns.models import CampaignType, EventType


@admin.register(CampaignType)
class CampaignTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "lot_category"]
    search_fields = ["code", "name"]


@admin.register(EventType)
class EventTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "is_active"]
    list_filter = ["is_active"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # events and campaign rules name their type: retire one by making it inactive
