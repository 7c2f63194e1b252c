"""The API instance: one error format `{"code", "message", "details"}`, credentials required everywhere.

Nothing reaches a client as an HTML page: a transient database failure that escaped the retries is 503 with
`Retry-After`, any other unexpected failure is 500 in the same shape (and logged with its traceback).
"""

import logging

from django.db import DatabaseError
from django.http import Http404
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from kopilka.api.auth import UNSCOPED
from kopilka.api.openapi import ScopedSchema, with_enforced_rules
from kopilka.core.errors import ApplicationError, TryAgain, transient_cause


def described_only(view):
    """The schema and the interactive docs are open to anyone and only read: another method is 405 (not a CSRF
    refusal, which only a form of the platform could pass)."""
    return csrf_exempt(require_safe(view))


class EnglishDocs(Swagger):
    """Swagger UI on django-ninja's page and static files, the page saying that it is in English (`<html lang>`):
    Swagger UI and the API's descriptions speak English whatever the reader's language, and a screen reader reads
    the page in the language it states."""

    def render_page(self, request, api, **kwargs):
        response = super().render_page(request, api, **kwargs)
        response.content = response.content.replace(b"<html>", b'<html lang="en">', 1)
        return response


class KopilkaAPI(NinjaAPI):
    """Publishes, besides each route's own types, the scope each operation needs, the rules the middleware
    enforces and every error response."""

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return with_enforced_rules(ScopedSchema(self, path_prefix))


api = KopilkaAPI(
    title="Kopilka API",
    version="1",
    description=(
        "Points ledger, members and purchases of the Kopilka loyalty platform. "
        "Authenticate with `Authorization: Bearer kpk_...` (an API key with scopes) or a staff session. "
        "Each operation's security requirement names the one scope it needs; credentials are checked before "
        "anything else, so a caller without them gets 401 and one without the scope 403. "
        "Every write takes an `Idempotency-Key` header: a replay returns the first answer."
    ),
    auth=UNSCOPED,
    urls_namespace="api-v1",
    docs=EnglishDocs(),
    docs_decorator=described_only,
)


def _error(request, status: int, code: str, message: str, details: dict | None = None):
    return api.create_response(request, {"code": code, "message": message, "details": details or {}}, status=status)


log = logging.getLogger("kopilka.api")


@api.exception_handler(ApplicationError)
def _application_error(request, exc: ApplicationError):
    response = _error(request, exc.http_status, exc.code, str(exc.message), exc.details)
    if isinstance(exc, TryAgain):
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(DatabaseError)
def _database_error(request, exc: DatabaseError):
    if (cause := transient_cause(exc)) is not None:
        return _application_error(request, TryAgain(details={"cause": cause}))
    return _unexpected(request, exc)


@api.exception_handler(Exception)
def _unexpected(request, exc: Exception):
    log.exception("unexpected failure of %s %s", request.method, request.path, exc_info=exc)
    return _error(request, 500, "internal_error", _("Something went wrong on the server; nothing was changed."))


@api.exception_handler(NinjaValidationError)
def _validation_error(request, exc: NinjaValidationError):
    fields = [
        {"location": [str(p) for p in e.get("loc", [])], "problem": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors
    ]
    return _error(request, 422, "validation_error", _("The request contains invalid data."), {"fields": fields})


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return _error(request, 401, "unauthenticated", _("Credentials are missing or not valid."))


@api.exception_handler(Http404)
def _not_found(request, exc: Http404):
    return _error(request, 404, "not_found", _("There is nothing at this address in the API."))


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return _error(request, exc.status_code, "http_error", str(exc))
