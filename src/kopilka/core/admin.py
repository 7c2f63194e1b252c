"""The admin base for read-only records, and the core's periodic runs (API keys are in the back office's admin)."""

from django.contrib import admin

from kopilka.core.models import AuditEvent, PeriodicRun


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records shown, never added, changed or deleted here (they are written by the services)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PeriodicRun)
class PeriodicRunAdmin(admin.ModelAdmin):
    """Read-only: rows are the scheduler's claims; editing one could run a job twice."""

    list_display = ["job", "slot", "enqueued_at", "worker_id", "task_result_id"]
    list_filter = ["job"]
    date_hierarchy = "slot"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "action", "member_id", "summary", "target"]
    list_filter = ["action"]
    search_fields = ["actor", "summary", "comment", "target"]
