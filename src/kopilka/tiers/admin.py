"""Tiers in the Django admin: the tier reference book is edited here; members' tiers are shown, changed only by
the services (qualification, reviews, floors and subscriptions keep their history)."""

from django.contrib import admin

from kopilka.core.admin import AuditedAdmin, ReadOnlyAdmin
from kopilka.tiers.models import MemberTier, Tier, TierChange


@admin.register(Tier)
class TierAdmin(AuditedAdmin):
    list_display = ["rank", "code", "name", "basis", "threshold", "window_days"]
    list_display_links = ["code"]


@admin.register(MemberTier)
class MemberTierAdmin(ReadOnlyAdmin):
    list_display = ["member", "tier", "floor", "subscription_tier", "subscription_until", "since"]
    list_select_related = ["member", "tier", "floor", "subscription_tier"]
    list_filter = ["tier"]
    search_fields = ["member__last_name", "member__legal_name"]


@admin.register(TierChange)
class TierChangeAdmin(ReadOnlyAdmin):
    list_display = ["changed_at", "member", "from_tier", "to_tier", "reason", "actor"]
