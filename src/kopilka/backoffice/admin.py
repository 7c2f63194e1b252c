"""Administrators issue and revoke API keys, set compensation limits and manage staff and their roles here; the
audit log and compensations are shown, never edited. Every change made here is written to the audit log
(`core.admin.AuditedAdmin`)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from kopilka.backoffice.models import CompensationLimit
from kopilka.core import api_keys, audit
from kopilka.core.admin import AuditedAdmin
from kopilka.core.models import SCOPES, ApiKey
from kopilka.core.signin import ThrottledSignInForm


class ApiKeyIssueForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(label=_("scopes"), choices=sorted(SCOPES.items()),
                                       widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiKey
        fields = ["name", "scopes"]


@admin.register(ApiKey)
class ApiKeyAdmin(AuditedAdmin):
    """A key is issued with its scopes; its token is shown once, then only its prefix. Keys are revoked, not edited."""

    list_display = ["name", "prefix", "is_active", "scopes", "created_at", "last_used_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["name", "prefix", "scopes", "is_active", "created_at", "last_used_at"]
    actions = ["revoke"]
    audits_its_saves = True  # issuing records apikey.issued

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a key is revoked, and its row stays: the ledger's entries name it

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyIssueForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        return ["name", "scopes"] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        if change:
            return
        obj.scopes = sorted(form.cleaned_data["scopes"])
        token = obj.new_token()
        super().save_model(request, obj, form, change)  # in the admin's transaction, with its audit event
        api_keys.audited(obj, "apikey.issued", actor=audit.actor_of(request.user), user=request.user)
        self.message_user(request, _("Copy the token now, it is not shown again: %(token)s") % {"token": token},
                          messages.WARNING)

    @admin.action(description=_("Revoke selected API keys"), permissions=["change"])
    def revoke(self, request, queryset) -> None:
        for key in queryset.filter(is_active=True):
            api_keys.revoke(key, actor=audit.actor_of(request.user), user=request.user)
        self.message_user(request, _("Revoked %(count)d API keys.") % {"count": queryset.count()}, messages.SUCCESS)


@admin.register(CompensationLimit)
class CompensationLimitAdmin(AuditedAdmin):
    list_display = ["role", "per_operation", "per_day"]
    audits_its_saves = True  # a save records compensation.limit_changed

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        audit.record(request.user, "compensation.limit_changed", _("Compensation limit of %(role)s: %(op)d / %(day)d")
                     % {"role": obj.role.name, "op": obj.per_operation, "day": obj.per_day},
                     target=f"backoffice.compensationlimit:{obj.pk}")

class StaffAdmin(AuditedAdmin, UserAdmin):
    """Django's staff accounts, with every add, change (roles and passwords included) and delete audited."""

    def user_change_password(self, request, id, form_url=""):
        with transaction.atomic():  # the new password and its audit event together
            return super().user_change_password(request, id, form_url)


class RoleAdmin(AuditedAdmin, GroupAdmin):
    """Django's groups — the roles of docs/roles.md — with every change audited."""


admin.site.unregister(User)
admin.site.register(User, StaffAdmin)
admin.site.unregister(Group)
admin.site.register(Group, RoleAdmin)
admin.site.site_header = _("Kopilka: administration")
admin.site.site_title = _("Kopilka")
admin.site.index_title = _("Administration")
admin.site.login_form = ThrottledSignInForm  # the back office signs people in through this page too
