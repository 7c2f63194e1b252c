"""The `kopilka` command (kopilka/cli.py): named entry points over manage.py."""

import re
import subprocess
import sys

import pytest

from kopilka import cli
from tests.runtime.processes import KOPILKA


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
