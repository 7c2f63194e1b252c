from django.contrib import admin

from kopilka.communications.models import Message


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """The outbox, read only: messages are recorded by the notices and sent by the worker."""

    list_display = ["created_at", "member", "kind", "to", "subject", "status", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["to", "subject", "source"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
