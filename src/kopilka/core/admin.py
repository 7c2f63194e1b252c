"""The admin's bases — audited changes, read-only records — and the core's periodic runs (API keys are in the back
office's admin)."""

from django.contrib import admin
from django.db import transaction
from django.utils.translation import gettext as _

from kopilka.core import audit
from kopilka.core.models import AuditEvent, PeriodicRun


class AuditedAdmin(admin.ModelAdmin):
    """Every add, change and delete made in the administration is in the audit log, written in the transaction of
    the change: the admin's own history (its LogEntry) is written at the same moments. A bulk delete from the list
    runs in one transaction with its events. An admin whose saves record their own, richer events sets
    `audits_its_saves` (its deletes are still recorded here)."""

    audits_its_saves = False

    def log_addition(self, request, obj, message):
        self._audit(request, "added", _("Added %(what)s “%(name)s” in the administration"), obj, message)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        if message:  # a form saved without a change changes nothing to record
            self._audit(request, "changed", _("Changed %(what)s “%(name)s” in the administration"), obj, message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._audit(request, "deleted", _("Deleted %(what)s “%(name)s” in the administration"), obj, [])
        return super().log_deletions(request, queryset)

    def changelist_view(self, request, extra_context=None):
        with transaction.atomic():  # an action on the list (a bulk delete) and its events together
            return super().changelist_view(request, extra_context)

    def _audit(self, request, verb: str, summary: str, obj, message) -> None:
        if self.audits_its_saves and verb != "deleted":
            return
        meta = obj._meta
        audit.record(request.user, f"admin.{verb}", summary % {"what": meta.verbose_name, "name": str(obj)[:100]},
                     target=f"{meta.app_label}.{meta.model_name}:{obj.pk}", details={"changes": message or []})


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records shown, never added, changed or deleted here (they are written by the services)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    """Rows shown inside their parent's page, never added, changed or deleted there."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PeriodicRun)
class PeriodicRunAdmin(ReadOnlyAdmin):
    """Read-only: rows are the scheduler's claims; editing or deleting one could run a job twice."""

    list_display = ["job", "slot", "enqueued_at", "worker_id", "task_result_id"]
    list_filter = ["job"]
    date_hierarchy = "slot"


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "action", "member_id", "summary", "target"]
    list_filter = ["action"]
    search_fields = ["actor", "summary", "comment", "target"]
