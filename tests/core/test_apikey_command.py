"""`kopilka apikey create|list|revoke`: integration credentials from the command line."""

import re

import pytest
from django.core.management import CommandError, call_command

from kopilka import cli
from kopilka.api.auth import BearerKey, HeaderKey
from kopilka.core.errors import PermissionDenied
from kopilka.core.models import ApiKey
from tests.core.marks import transactional_db


def _token(output: str) -> str:
    (token,) = re.findall(r"^kpk_\S+$", output, re.MULTILINE)
    return token


@transactional_db
def test_apikey_create_prints_a_token_that_authenticates(capsys):
    cli.main(["apikey", "create", "--name", "pos-moscow", "--scopes", "ledger:write,members:read"])
    token = _token(capsys.readouterr().out)

    caller = BearerKey("ledger:write").authenticate(None, token)
    key = ApiKey.objects.get()
    assert (caller.actor, caller.idempotency_scope) == ("apikey:pos-moscow", f"apikey:{key.pk}")
    assert key.scopes == ["ledger:write", "members:read"]
    assert HeaderKey("members:read").authenticate(None, token) == caller
    with pytest.raises(PermissionDenied):
        BearerKey("purchases:write").authenticate(None, token)
    assert BearerKey("ledger:write").authenticate(None, token[:-1] + ("A" if token[-1] != "A" else "B")) is None


@transactional_db
def test_the_token_is_not_stored_nor_listed(capsys):
    cli.main(["apikey", "create", "--name", "shop", "--scopes", "members:read"])
    token = _token(capsys.readouterr().out)

    cli.main(["apikey", "list"])
    listing = capsys.readouterr().out

    secret = token.split("_", 2)[2]
    assert listing.startswith("shop\t")
    assert secret not in listing
    assert not ApiKey.objects.filter(secret_hash__contains=secret).exists()


@transactional_db
def test_a_revoked_key_no_longer_authenticates(capsys):
    cli.main(["apikey", "create", "--name", "old-pos", "--scopes", "ledger:read"])
    token = _token(capsys.readouterr().out)

    cli.main(["apikey", "revoke", "old-pos"])

    assert BearerKey("ledger:read").authenticate(None, token) is None
    assert ApiKey.objects.get(name="old-pos").is_active is False


@pytest.mark.django_db
def test_apikey_create_refuses_unknown_scopes_and_taken_names():
    call_command("apikey", "create", "--name", "pos", "--scopes", "ledger:read")
    with pytest.raises(CommandError, match="ledger:everything"):
        call_command("apikey", "create", "--name", "other", "--scopes", "ledger:everything")
    with pytest.raises(CommandError, match="already exists"):
        call_command("apikey", "create", "--name", "pos", "--scopes", "ledger:read")
    with pytest.raises(CommandError, match="No API key"):
        call_command("apikey", "revoke", "nobody")
    assert list(ApiKey.objects.values_list("name", flat=True)) == ["pos"]
