"""The back office's front door: each person lands on the first page their role may use."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

# (permission, page) in the order a person is sent to them
LANDINGS = [
    ("backoffice.use_support_console", "backoffice:search"),
    ("campaigns.change_campaign", "backoffice:campaigns"),
    ("core.analytics_read", "backoffice:analytics_dashboard"),
    ("backoffice.view_audit_log", "backoffice:audit"),
    ("catalog.view_product", "backoffice:catalog"),
]


@login_required(login_url="admin:login")
def home(request):
    for permission, page in LANDINGS:
        if request.user.is_staff and request.user.has_perm(permission):
            return redirect(page)
    raise PermissionDenied
