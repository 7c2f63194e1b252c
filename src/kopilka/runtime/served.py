"""The application as `kopilka serve` runs it: the WSGI application of `kopilka.wsgi` with every route imported (the
URL configuration, the API's routers and their schemas), so a server that preloads it before it listens forks
workers that answer their first request at once, also right after a restart. Importing it leaves no database
connection open: the server's processes are forked from the one that imported it, and a connection must never be
shared between processes."""

from django.db import connections
from django.urls import get_resolver

from kopilka.wsgi import application

get_resolver().url_patterns  # noqa: B018 - imports the URL configuration and everything it routes to
connections.close_all()

__all__ = ["application"]
