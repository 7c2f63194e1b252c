import re
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from kopilka import cli
from kopilka.api.auth import BearerKey, HeaderKey
from kopilka.core.models import ApiKey
from tests.core.marks import transactional_db
from tests.core.processes import KOPILKA


def test_help_lists_every_subcommand_with_a_description():
    done = subprocess.run([KOPILKA, "--help"], capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    for usage in [
        "demo",
        "serve",
        "worker",
        "migrate",
        "seed",
        "expire",
        "reconcile",
        "import transactions FILE",
    ]:
        assert re.search(rf"^  {re.escape(usage)}\b.*\s{{2,}}\w+", done.stdout, re.MULTILINE), usage
    assert re.search(
        r"^  apikey create --name N --scopes a,b \| list \| revoke NAME\n\s{10,}\w+", done.stdout, re.M
    )
    assert "kopilka shell" in done.stdout


def test_help_needs_no_database_nor_django_setup():
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from kopilka import cli; cli.main([]); print(sorted(sys.modules))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "'django'" not in done.stdout


@pytest.mark.parametrize(
    ("args", "manage_py"),
    [
        (
            ["import", "transactions", "sales.csv", "--dry-run"],
            ["import_transactions", "sales.csv", "--dry-run"],
        ),
        (["apikey", "revoke", "pos"], ["apikey", "revoke", "pos"]),
        (["serve", "--bind", "0.0.0.0:80"], ["serve", "--bind", "0.0.0.0:80"]),
        (["shell", "-c", "print(1)"], ["shell", "-c", "print(1)"]),
        (["createsuperuser"], ["createsuperuser"]),
    ],
)
def test_subcommands_map_to_management_commands(args, manage_py):
    assert cli.manage_py_argv(args) == manage_py


@pytest.mark.parametrize("args", [["import"], ["import", "receipts", "x.xml"]])
def test_an_unknown_import_is_a_usage_error(args):
    with pytest.raises(cli.UsageError):
        cli.manage_py_argv(args)


def test_other_commands_pass_through_to_manage_py():
    done = subprocess.run([KOPILKA, "help", "--commands"], capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert {"apikey", "demo", "serve", "worker", "shell", "createsuperuser"} <= set(done.stdout.split())


def _token(output: str) -> str:
    (token,) = re.findall(r"^kpk_\S+$", output, re.MULTILINE)
    return token


@transactional_db
def test_apikey_create_prints_a_token_that_authenticates(capsys):
    cli.main(["apikey", "create", "--name", "pos-moscow", "--scopes", "ledger:write,members:read"])
    token = _token(capsys.readouterr().out)

    key = BearerKey().authenticate(None, token)
    assert isinstance(key, ApiKey)
    assert (key.name, key.scopes) == ("pos-moscow", ["ledger:write", "members:read"])
    assert HeaderKey().authenticate(None, token) == key
    assert BearerKey().authenticate(None, token[:-1] + ("A" if token[-1] != "A" else "B")) is None


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

    assert BearerKey().authenticate(None, token) is None
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
