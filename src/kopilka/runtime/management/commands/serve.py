"""`manage.py serve`: collect static files (served by whitenoise), then replace this process with gunicorn; refuses
to start on an empty, published or weak secret key."""

import os
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from kopilka.core import secret_key


def gunicorn_argv(*, bind: str, workers: int, threads: int) -> list[str]:
    """The gunicorn command line for the project's WSGI application, run by this interpreter."""
    return [
        sys.executable, "-m", "gunicorn", "kopilka.runtime.served",
        "--bind", bind, "--workers", str(workers), "--threads", str(threads),
        # The application is loaded once, before the server listens, and the workers are forked from it ready: a
        # server (re)started after a crash accepts connections only when it can answer them at once, and the
        # retries that waited for it are not kept waiting further for every worker to set Django up.
        "--preload",
        # The default control socket is one path per user: a second server would take it over.
        "--no-control-socket",
    ]  # fmt: skip


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = "Collect static files, then run the web server (gunicorn, kopilka.runtime.served)"

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--bind", default="127.0.0.1:8000", help="HOST:PORT to listen on (default: %(default)s)"
        )
        parser.add_argument(
            "--workers", type=positive_int, default=2, help="Worker processes (default: %(default)s)"
        )
        parser.add_argument(
            "--threads", type=positive_int, default=4, help="Threads per worker (default: %(default)s)"
        )

    def handle(self, *, bind: str, workers: int, threads: int, verbosity: int, **options) -> None:
        # Also in DEBUG, unlike the served application's own check (secret_key.check_served).
        if message := secret_key.refusal(secret_key.configured()):
            raise CommandError(message)
        call_command("collectstatic", interactive=False, verbosity=max(verbosity - 1, 0))
        argv = gunicorn_argv(bind=bind, workers=workers, threads=threads)
        self.stdout.write(f"Serving on http://{bind}/ ({workers} workers x {threads} threads)")
        self.stdout.flush()
        sys.stderr.flush()
        connections.close_all()
        os.execv(argv[0], argv)
