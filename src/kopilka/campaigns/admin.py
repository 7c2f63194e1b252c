"""Campaign types as a reference book (base, promo, compensation and the programme's own); campaigns themselves
are built in the back office's campaign builder."""

from django.contrib import admin

from kopilka.campaigns.models import CampaignType


@admin.register(CampaignType)
class CampaignTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "lot_category"]
    search_fields = ["code", "name"]
