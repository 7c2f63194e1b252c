"""The door of `/api/`: hostile input is refused before routing, and no error reaches a client outside the API's
shape `{"code", "message", "details"}` — whether an unknown or malformed path (404), a method a route does not take
(405, with `Allow`) or a failure that Django, not a route, answered.

Runs after LocaleMiddleware, so its messages are in the request's language. Paths outside `/api/` pass untouched.
"""

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from kopilka.api import hostile

PREFIX = "/api/"
MAX_BODY_BYTES = 1024 * 1024
# The headers a route reads; their values reach the database.
HEADERS = {"HTTP_AUTHORIZATION": "Authorization", "HTTP_X_API_KEY": "X-API-Key",
           "HTTP_IDEMPOTENCY_KEY": "Idempotency-Key"}
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def _messages() -> dict[str, str]:
    return {
        "invalid_characters": _("The request contains a NUL byte or another control character."),
        "invalid_encoding": _("The request is not valid UTF-8."),
        "malformed_json": _("The request body is not valid JSON."),
        "too_deep": _("The request body is nested deeper than %(depth)d levels.") % {"depth": hostile.MAX_DEPTH},
        "number_out_of_range": _("The request contains a number too large, or one that is not finite."),
        "text_too_long": _("This value is longer than %(limit)d characters.") % {"limit": hostile.MAX_TEXT_LENGTH},
        "request_too_large": _("The request body is larger than %(size)d bytes.") % {"size": MAX_BODY_BYTES},
        "not_found": _("There is nothing at this address in the API."),
        "method_not_allowed": _("This address does not take this method."),
        "bad_request": _("The request is malformed."),
        "forbidden": _("You do not have permission to do this."),
        "internal_error": _("Something went wrong on the server; nothing was changed."),
    }


_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 413: "request_too_large",
          500: "internal_error"}


def error_response(status: int, code: str, details: dict | None = None) -> JsonResponse:
    messages = _messages()
    message = messages.get(code) or messages["bad_request" if status < 500 else "internal_error"]
    return JsonResponse({"code": code, "message": message, "details": details or {}}, status=status,
                        json_dumps_params={"ensure_ascii": False})


def _refused(refusal: hostile.Refusal) -> JsonResponse:
    return error_response(refusal.status, refusal.code, {"location": refusal.location})


def _wire(value: str) -> bytes:
    """A WSGI string as the bytes that came over the wire (PEP 3333: latin-1)."""
    try:
        return value.encode("iso-8859-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", errors="surrogatepass")


def inspect(request: HttpRequest) -> hostile.Refusal | None:
    """The first reason to refuse the request, or None."""
    meta = request.META
    refusal = hostile.check_path(request.path_info) or hostile.check_query(
        meta.get("QUERY_STRING", "")
    )
    if refusal:
        return refusal
    for key, name in HEADERS.items():
        if key in meta and (refusal := hostile.check_header(name, _wire(meta[key]))):
            return refusal
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return hostile.Refusal(400, "bad_request", ["header", "Content-Length"])
    if length > MAX_BODY_BYTES:
        return hostile.Refusal(413, "request_too_large", ["body"])
    if request.method in ("GET", "HEAD", "OPTIONS") or meta.get("CONTENT_TYPE", "").startswith(FORM_TYPES):
        return None
    try:
        body = request.body
    except RequestDataTooBig:
        return hostile.Refusal(413, "request_too_large", ["body"])
    if len(body) > MAX_BODY_BYTES:
        return hostile.Refusal(413, "request_too_large", ["body"])
    return hostile.check_json(body) if body.strip() else None


def _shaped(response: HttpResponse) -> HttpResponse:
    """An error response that is not JSON, answered again in the API's shape (keeping `Allow`)."""
    if response.status_code < 400 or response.get("Content-Type", "").startswith("application/json"):
        return response
    status = response.status_code
    shaped = error_response(status, _CODES.get(status, "internal_error" if status >= 500 else "bad_request"))
    if response.has_header("Allow"):
        shaped["Allow"] = response["Allow"]
    return shaped


class ApiGuard:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(PREFIX):
            return self.get_response(request)
        if refusal := inspect(request):
            return _refused(refusal)
        return _shaped(self.get_response(request))
