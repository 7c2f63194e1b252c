"""Administrators set compensation limits here; the audit log and compensations are shown, never edited."""

from django.contrib import admin

from kopilka.backoffice.models import AuditEvent, CompensationLimit, CompensationRequest


@admin.register(CompensationLimit)
class CompensationLimitAdmin(admin.ModelAdmin):
    list_display = ["role", "per_operation", "per_day"]


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnly):
    list_display = ["at", "actor", "action", "member", "summary", "target"]
    list_filter = ["action"]
    search_fields = ["actor", "summary", "comment", "target"]
    date_hierarchy = "at"


@admin.register(CompensationRequest)
class CompensationRequestAdmin(ReadOnly):
    list_display = ["requested_at", "member", "points", "reason_code", "status", "requested_by", "decided_by"]
    list_filter = ["status", "reason_code"]
    date_hierarchy = "requested_at"
