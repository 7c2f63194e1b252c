"""Members and their reference books in the Django admin.

Members are shown, not edited, here: their changes go through the services, which validate and keep the
history; the support console is where staff change them. Regions come from the official classifier.
"""

from django.contrib import admin
from django.utils.translation import gettext as _

from kopilka.core import audit
from kopilka.core.admin import AuditedAdmin, ReadOnlyAdmin, ReadOnlyInline
from kopilka.customers.models import (
    City,
    Consent,
    EligibilityFlag,
    ExternalId,
    Member,
    MemberStatusChange,
    Region,
    Tag,
)


class StatedValuesFilter(admin.AllValuesFieldListFilter):
    """The values a text field holds, each a link to the rows with it; a blank value (not stated, as a member
    imported without a registration source or a region outside the federal districts) is named so rather than
    shown as a link with no text."""

    def choices(self, changelist):
        for choice in super().choices(changelist):
            shown = str(choice["display"])
            if not shown or shown.startswith(" ("):  # blank, alone or before its count (the admin's facets)
                choice = {**choice, "display": _("not stated") + shown}
            yield choice


@admin.register(Region)
class RegionAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "federal_district", "time_zone"]
    list_filter = [("federal_district", StatedValuesFilter), "time_zone"]
    search_fields = ["code", "name"]


@admin.register(City)
class CityAdmin(AuditedAdmin):
    list_display = ["name", "region", "population"]
    list_filter = [("region__federal_district", StatedValuesFilter)]
    list_select_related = ["region"]
    search_fields = ["name", "region__name"]
    autocomplete_fields = ["region"]


@admin.register(Tag)
class TagAdmin(AuditedAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(EligibilityFlag)
class EligibilityFlagAdmin(AuditedAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


class ExternalIdInline(ReadOnlyInline):
    model = ExternalId
    fields = ["system", "value"]


class ConsentInline(ReadOnlyInline):
    model = Consent
    fields = ["channel", "granted", "decided_at", "source"]
    ordering = ["channel", "-decided_at"]


class MemberStatusChangeInline(ReadOnlyInline):
    model = MemberStatusChange
    fields = ["changed_at", "from_status", "to_status", "reason", "actor"]


@admin.register(Member)
class MemberAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "display_name",
        "kind",
        "status",
        "phone",
        "email",
        "inn",
        "region",
        "registered_at",
    ]
    list_filter = [
        "status",
        "kind",
        ("registration_source", StatedValuesFilter),
        ("region__federal_district", StatedValuesFilter),
        "tags",
        "eligibility_flags",
    ]
    list_select_related = ["region"]
    search_fields = ["search_text", "phone", "email", "inn", "external_ids__value"]
    date_hierarchy = "registered_at"
    inlines = [ExternalIdInline, ConsentInline, MemberStatusChangeInline]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The member's page; every opening is in the audit log (staff reading personal data, 152-FZ)."""
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200 and str(object_id).isdigit():
            audit.record_shown(request.user, "member.viewed",
                               _("Opened member %(id)s in the administration") % {"id": object_id},
                               member_ids=[int(object_id)], target="admin:customers.member")
        return response

    def changelist_view(self, request, extra_context=None):
        """The list of members; every page shown is in the audit log with the members on it."""
        response = super().changelist_view(request, extra_context)
        listed = getattr(response, "context_data", None) or {}
        if response.status_code == 200 and "cl" in listed:
            shown = [member.pk for member in listed["cl"].result_list]
            audit.record_shown(request.user, "member.listed",
                               _("Listed members in the administration: %(count)d shown") % {"count": len(shown)},
                               member_ids=shown, target="admin:customers.member")
        return response

    def get_search_results(self, request, queryset, search_term):
        # search_text and e-mails are stored lower-cased; SQLite compares non-Latin letters case-sensitively.
        return super().get_search_results(request, queryset, search_term.lower().replace("ё", "е"))
