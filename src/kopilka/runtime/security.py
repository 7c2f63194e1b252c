"""The Content Security Policy of every page the platform serves.

Scripts and everything else load only from the platform itself (no inline scripts: the back office's scripts are
static files); inline style attributes are allowed (bars and heat maps are drawn with them). Widget pages may be
framed by any site (that is what they are for), every other page only by the platform's own. The API's
interactive docs are served whole by the platform too (Swagger UI from django-ninja's static files).
"""

STRICT = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
          "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
          "frame-ancestors 'self'")
WIDGET = STRICT.replace("frame-ancestors 'self'", "frame-ancestors *")


def policy_for(path: str) -> str:
    if path.startswith("/embed/"):
        return WIDGET
    return STRICT


class ContentSecurityPolicy:
    """Adds the policy to every response that does not set one itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", policy_for(request.path))
        return response
