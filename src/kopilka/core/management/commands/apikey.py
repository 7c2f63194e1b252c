"""`manage.py apikey create|list|revoke`: integration credentials. A token is printed once, never stored; issuing
and revoking are audited (the actor is `cli:<the operating system's user>`)."""


from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from kopilka.core import api_keys, audit
from kopilka.core.errors import ApplicationError
from kopilka.core.models import SCOPES, ApiKey


class Command(BaseCommand):
    help = "Create, list or revoke integration API keys"

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{create,list,revoke}")
        create = actions.add_parser("create", help="Issue a key and print its token (shown only this once)")
        create.add_argument("--name", required=True, help="Unique name of the integration, e.g. pos-moscow")
        create.add_argument(
            "--scopes", required=True, help="Comma-separated scopes: " + ", ".join(sorted(SCOPES))
        )
        actions.add_parser("list", help="List keys (never their tokens)")
        revoke = actions.add_parser("revoke", help="Deactivate a key; requests with its token are refused")
        revoke.add_argument("name")

    def handle(self, *, action: str, **options) -> None:
        getattr(self, f"_{action}")(**options)

    def _create(self, *, name: str, scopes: str, **options) -> None:
        wanted = [s.strip() for s in scopes.split(",") if s.strip()]
        if not wanted:
            raise CommandError("Give at least one scope: " + ", ".join(sorted(SCOPES)))
        try:
            key, token = api_keys.issue(name, wanted, actor=audit.cli_actor())
        except IntegrityError as e:
            raise CommandError(f"An API key named {name!r} already exists.") from e
        except ApplicationError as e:
            raise CommandError(str(e.message)) from e
        self.stdout.write(f"Created API key {key.name} with scopes {', '.join(key.scopes)}.")
        self.stdout.write(
            "Token (shown only now; send it as 'Authorization: Bearer <token>' or 'X-API-Key'):"
        )
        self.stdout.write(token)

    def _list(self, **options) -> None:
        keys = ApiKey.objects.order_by("name")
        if not keys:
            self.stdout.write("No API keys.")
            return
        for key in keys:
            state = "active" if key.is_active else "revoked"
            used = key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else "never"
            self.stdout.write(
                f"{key.name}\t{key.prefix}\t{state}\t{','.join(key.scopes)}\t"
                f"created {key.created_at.isoformat(timespec='seconds')}\tlast used {used}"
            )

    def _revoke(self, *, name: str, **options) -> None:
        key = ApiKey.objects.filter(name=name).first()
        if key is None:
            raise CommandError(f"No API key named {name!r}.")
        if not api_keys.revoke(key, actor=audit.cli_actor()):
            self.stdout.write(f"API key {name} was revoked already.")
            return
        self.stdout.write(f"Revoked API key {name}.")

