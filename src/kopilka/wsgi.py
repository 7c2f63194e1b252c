"""WSGI entry point for gunicorn: `gunicorn kopilka.wsgi`.

Importing it sets Django up and imports every route (the URL configuration, the API's routers and their schemas),
so a server that loads it before it listens (`kopilka serve` preloads) answers its first request at once, also
right after a restart. It leaves no database connection open: the server's processes are forked from the one
that imported it, and a connection must never be shared between processes.
"""

import os

from django.core.wsgi import get_wsgi_application
from django.db import connections
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kopilka.settings")
application = get_wsgi_application()
get_resolver().url_patterns  # noqa: B018 - imports the URL configuration and everything it routes to
connections.close_all()
