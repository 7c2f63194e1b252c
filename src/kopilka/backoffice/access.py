"""Who may open a back-office page: signed-in staff holding the page's permission.

Checked in this order, whatever the request carries: a person not signed in is sent to the sign-in page (302); one
who is not active staff, or lacks a permission, gets 403; a method the page does not take gets 405 (only a person who
may use the page learns which methods it takes). docs/roles.md lists the rights of each role.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed

from kopilka.core.errors import NotFound

SHOWS = ("GET", "HEAD")  # a page that only shows
CHANGES = ("GET", "HEAD", "POST")  # a page with a form that changes something
ACTION = ("POST",)  # an action, posted from a page


def requires(*permissions: str, methods: tuple[str, ...] = SHOWS):
    """The view needs a signed-in, active staff user with every one of `permissions` and one of `methods`; a record
    it names that does not exist is a 404."""
    return _guard(lambda user: user.has_perms(permissions), permissions, methods)


def requires_any(*permissions: str, methods: tuple[str, ...] = SHOWS):
    """As `requires`, for a view that needs at least one of `permissions`."""
    return _guard(lambda user: any(user.has_perm(p) for p in permissions), permissions, methods)


def _guard(allowed, permissions: tuple[str, ...], methods: tuple[str, ...]):
    def decorate(view):
        @wraps(view)
        def guarded(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not (user.is_active and user.is_staff and allowed(user)):
                raise PermissionDenied
            if request.method not in methods:
                return HttpResponseNotAllowed(methods)
            try:
                return view(request, *args, **kwargs)
            except NotFound as missing:
                raise Http404(missing.message) from missing

        guarded.required_permissions = permissions
        guarded.allowed_methods = methods
        return guarded

    return decorate
