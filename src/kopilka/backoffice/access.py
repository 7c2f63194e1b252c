"""Who may open a back-office page: signed-in staff holding the page's permission (403 otherwise)."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied


def requires(*permissions: str):
    """The view needs a signed-in, active staff user with every one of `permissions`."""

    def decorate(view):
        @wraps(view)
        def guarded(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not (user.is_active and user.is_staff and user.has_perms(permissions)):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        guarded.required_permissions = permissions
        return guarded

    return decorate
