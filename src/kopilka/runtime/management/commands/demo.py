"""`manage.py demo`: a working installation in one command — schema, demo data, an admin, the server and the
worker, stopped together by Ctrl-C.

The admin's password is generated at first start and printed once; only its hash is stored. Without
KOPILKA_SECRET_KEY, the demo writes a random secret key into its data folder once, and uses it from then on.
"""

import secrets
import sys

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import IntegrityError, connections, transaction

from kopilka.core import secret_key
from kopilka.runtime.supervise import supervise

ADMIN_USERNAME = "admin"


def ensure_admin() -> str | None:
    """Create the superuser `admin` if missing; returns its new password, or None if it already existed."""
    users = get_user_model()
    if users.objects.filter(username=ADMIN_USERNAME).exists():
        return None
    password = secrets.token_urlsafe(12)
    try:
        with transaction.atomic():
            users.objects.create_superuser(username=ADMIN_USERNAME, email="", password=password)
    except IntegrityError:  # a concurrent start created it
        return None
    return password


def url_host(host: str) -> str:
    """The host to put in a URL for a listening address (a wildcard address is reached through loopback)."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class Command(BaseCommand):
    help = (
        "Migrate, load demo data into an empty database, ensure an admin, run the web server and the worker"
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default: %(default)s)")
        parser.add_argument("--port", type=int, default=8000, help="Port to listen on (default: %(default)s)")

    def handle(self, *, host: str, port: int, verbosity: int, **options) -> None:
        call_command("migrate", interactive=False, verbosity=verbosity)
        if not apps.get_model("customers", "Member").objects.exists():
            self.stdout.write("The database holds no members: loading the demo data set (kopilka seed).")
            call_command("seed", verbosity=verbosity)
        password = ensure_admin()
        if not secret_key.read(settings.DATA_DIR):  # the demo's own random key, kept in its data folder
            secret_key.ensure_file(settings.DATA_DIR)
        base = f"http://{url_host(host)}:{port}"
        self.stdout.write("")
        self.stdout.write(f"  Back office:    {base}/office/")
        self.stdout.write(f"  Administration: {base}/admin/")
        self.stdout.write(f"  API docs:       {base}/api/v1/docs")
        if password:
            self.stdout.write(f"  Sign in:        {ADMIN_USERNAME} / {password}")
            self.stdout.write("                  (shown only now; reset with `kopilka changepassword admin`)")
        else:
            self.stdout.write(
                f"  Sign in:        {ADMIN_USERNAME} (password printed at first start; "
                "reset with `kopilka changepassword admin`)"
            )
        self.stdout.write("  Press Ctrl-C to stop.\n")
        self.stdout.flush()
        connections.close_all()
        bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        status = supervise(
            [self._command("serve", "--bind", bind, **options), self._command("worker", **options)]
        )
        if status:
            sys.exit(status)

    @staticmethod
    def _command(
        name: str, *args: str, settings: str | None = None, pythonpath: str | None = None, **_
    ) -> list[str]:
        """A child running manage.py command `name` with this process's interpreter and settings."""
        command = [sys.executable, "-m", "kopilka.cli", name, *args]
        if settings:
            command.append(f"--settings={settings}")
        if pythonpath:
            command.append(f"--pythonpath={pythonpath}")
        return command
