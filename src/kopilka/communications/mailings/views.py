"""The public doors of a mailing's tracking: the open pixel and the link redirect, reached from a member's mail
program through the programme's public address. Authenticated by their signed tokens (`tracking`); a token not
made here is a 404, and a redirect goes only to a link the message had."""

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from kopilka.communications.mailings import tracking
from kopilka.core.errors import NotFound
from kopilka.core.retrying import outermost


@never_cache
@require_GET
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    try:
        outermost(lambda: tracking.opened(token))
    except NotFound as missing:
        raise Http404(missing.message) from missing
    return HttpResponse(tracking.PIXEL, content_type="image/gif")


@never_cache
@require_GET
def follow_link(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = outermost(lambda: tracking.clicked(token))
    except NotFound as missing:
        raise Http404(missing.message) from missing
    return HttpResponseRedirect(link)
