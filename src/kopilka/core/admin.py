"""Back-office views of the core's records: API keys (issued by `kopilka apikey create`) and periodic runs."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from kopilka.core.models import ApiKey
from kopilka.core.scheduling import PeriodicRun


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """A token exists only at issue time, so keys are issued by `kopilka apikey create`; here only revoked."""

    list_display = ["name", "prefix", "is_active", "scopes", "created_at", "last_used_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["name", "prefix", "scopes", "created_at", "last_used_at"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description=_("Revoke selected API keys"))
    def revoke(self, request, queryset) -> None:
        count = queryset.update(is_active=False)
        self.message_user(request, _("Revoked %(count)d API keys.") % {"count": count}, messages.SUCCESS)


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
