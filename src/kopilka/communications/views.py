"""The two doors of communications that are not staff's: the unsubscribe page members reach from a message, and
the address the SMS provider sends its delivery reports to. Both are authenticated by what they carry (a signed
token, a shared secret), so neither takes a CSRF token: RFC 8058's one-click POST comes from a mail client."""

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from kopilka.communications import reports, sms, unsubscribe
from kopilka.core.errors import ApplicationError, NotFound, ValidationFailed
from kopilka.core.retrying import outermost


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe_page(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page that asks, with a button; POST (the button, or a mail client's one-click request): the consent
    to the token's channel is withdrawn at once."""
    try:
        subscription = unsubscribe.read(token)
    except NotFound:
        return render(request, "communications/unsubscribe.html", {"unknown": True}, status=404)
    done = request.method == "POST"
    if done:
        outermost(lambda: unsubscribe.withdraw(subscription))
    return render(request, "communications/unsubscribe.html", {"channel": subscription.channel, "done": done})


@csrf_exempt
@require_POST
def sms_delivery_report(request: HttpRequest) -> JsonResponse:
    """One delivery report, or a JSON list of them, as JSON or form fields; the shared secret comes as
    `Authorization: Bearer <secret>` or the `secret` query parameter."""
    bearer = request.headers.get("Authorization", "")
    given = bearer.removeprefix("Bearer ").strip() if bearer.startswith("Bearer ") else request.GET.get("secret", "")
    try:
        config = reports.check_secret(sms.provider(), given)
        answers = [outermost(lambda report=report: reports.record(config, report)) for report in _reports(request)]
    except ApplicationError as refused:
        return JsonResponse(refused.as_dict(), status=refused.http_status, json_dumps_params={"ensure_ascii": False})
    return JsonResponse({"messages": [{"id": str(m.uid), "status": m.status} for m in answers]})


def _reports(request: HttpRequest) -> list[dict]:
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body)
        except ValueError:
            raise ValidationFailed(code="malformed_json") from None
        body = body if isinstance(body, list) else [body]
        if not body or not all(isinstance(report, dict) for report in body):
            raise ValidationFailed(code="bad_report")
        return body
    return [request.POST.dict()]
