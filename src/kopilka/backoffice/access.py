"""Who may open a back-office page: signed-in staff holding the page's permission (403 otherwise)."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404

from kopilka.core.errors import NotFound


def requires(*permissions: str):
    """The view needs a signed-in, active staff user with every one of `permissions`; a record it names that does
    not exist is a 404."""

    def decorate(view):
        @wraps(view)
        def guarded(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not (user.is_active and user.is_staff and user.has_perms(permissions)):
                raise PermissionDenied
            try:
                return view(request, *args, **kwargs)
            except NotFound as missing:
                raise Http404(missing.message) from missing

        guarded.required_permissions = permissions
        return guarded

    return decorate
