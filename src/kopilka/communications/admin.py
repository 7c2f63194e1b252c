from django.contrib import admin

from kopilka.communications.models import Message
from kopilka.core.admin import ReadOnlyAdmin


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    """The outbox: messages are recorded by the notices and sent by the worker."""

    list_display = ["created_at", "member", "kind", "to", "subject", "status", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["to", "subject", "source"]
