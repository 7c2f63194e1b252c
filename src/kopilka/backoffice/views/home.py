"""The back office's front door: each person lands on the first page their role may use."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

from kopilka.backoffice.access import requires_any

# (permission, page) in the order a person is sent to them
LANDINGS = [
    ("backoffice.use_support_console", "backoffice:search"),
    ("campaigns.change_campaign", "backoffice:campaigns"),
    ("core.analytics_read", "backoffice:analytics_dashboard"),
    ("backoffice.view_audit_log", "backoffice:audit"),
    ("catalog.view_product", "backoffice:catalog"),
]


@requires_any(*(permission for permission, _page in LANDINGS))
def home(request):
    for permission, page in LANDINGS:
        if request.user.has_perm(permission):
            return redirect(page)
    raise PermissionDenied
