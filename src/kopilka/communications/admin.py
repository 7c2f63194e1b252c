from django.contrib import admin

from kopilka.communications.models import Attempt, Message
from kopilka.core.admin import ReadOnlyAdmin


class AttemptInline(admin.TabularInline):
    """Every try at sending the message, with its worker and outcome."""

    model = Attempt
    fields = ["started_at", "finished_at", "worker", "outcome", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    """The outbox: messages are recorded by the notices and sent by the worker; a queued one with an error waits
    for its next try."""

    list_display = ["created_at", "member", "kind", "to", "subject", "status", "attempts", "next_try_at", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["to", "subject", "source", "uid"]
    inlines = [AttemptInline]
