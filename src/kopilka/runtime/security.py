"""The Content Security Policy of every page the platform serves.

Scripts and everything else load only from the platform itself (no inline scripts: the back office's scripts are
static files); inline style attributes are allowed (bars and heat maps are drawn with them). Widget pages may be
framed by any site (that is what they are for), every other page only by the platform's own. The API's
interactive docs load Swagger UI from its CDN until it is served by the platform, so that page has its own policy.
"""

STRICT = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
          "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
          "frame-ancestors 'self'")
WIDGET = STRICT.replace("frame-ancestors 'self'", "frame-ancestors *")
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS = (f"default-src 'self'; script-src 'self' 'unsafe-inline' {DOCS_CDN}; style-src 'self' 'unsafe-inline' "
        f"{DOCS_CDN}; img-src 'self' data: https://django-ninja.dev; connect-src 'self'; object-src 'none'; "
        "base-uri 'self'; frame-ancestors 'self'")


def policy_for(path: str) -> str:
    if path.startswith("/embed/"):
        return WIDGET
    if path.rstrip("/").endswith("/api/v1/docs"):
        return DOCS
    return STRICT


class ContentSecurityPolicy:
    """Adds the policy to every response that does not set one itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", policy_for(request.path))
        return response
