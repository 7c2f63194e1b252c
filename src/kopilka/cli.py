"""The `kopilka` command: named entry points over manage.py; other manage.py commands pass through unchanged.

kopilka demo | serve | worker | migrate | seed | expire | reconcile | backup | restore
kopilka import transactions FILE        → manage.py import_transactions FILE
kopilka analytics kpi|rfm|clv|... [options]
kopilka apikey create|list|revoke ...
kopilka shell, kopilka createsuperuser, ...  → manage.py as they are
"""

import os
import sys

# Subcommand → (management command, usage shown in the help, one-line description).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": (
        "demo",
        "demo [--host H] [--port P]",
        "Migrate, load demo data, create the admin, run server + worker",
    ),
    "serve": (
        "serve",
        "serve [--bind H:P] [--workers N]",
        "Collect static files and run the web server (gunicorn)",
    ),
    "worker": ("worker", "worker [--batch]", "Run background tasks and the periodic schedule"),
    "migrate": ("migrate", "migrate", "Create or update the database schema"),
    "seed": (
        "seed",
        "seed [--members N] [--months M] [--bulk --receipts R]",
        "Load the demo data set (members, purchases, points) into an empty database",
    ),
    "expire": ("expire", "expire [--as-of T]", "Burn the points of lots expired by --as-of (default: now)"),
    "reconcile": ("reconcile", "reconcile [--member ID]", "Prove balances = entries = lot remainders"),
    "backup": ("backup", "backup FILE", "Back up the whole database into one file (pg_dump, or SQLite's backup)"),
    "restore": ("restore", "restore FILE", "Restore a backup into the configured empty database, then reconcile"),
    "analytics": (
        "analytics",
        "analytics REPORT [options] [--format csv|json|xlsx] [--output FILE]",
        "Reports: kpi, points, sales, rfm, rfm-grid, clusters, clv, cohorts, abc, levers",
    ),
    "apikey": (
        "apikey",
        "apikey create --name N --scopes a,b | list | revoke NAME",
        "Manage integration API keys",
    ),
}
# `kopilka import WHAT FILE` → (management command, description).
IMPORTS: dict[str, tuple[str, str]] = {
    "transactions": ("import_transactions", "Import purchases and point transactions from a CSV file"),
}
HELP_FLAGS = {"-h", "--help"}


class UsageError(Exception):
    pass


def help_text() -> str:
    rows = [(usage, description) for _, usage, description in COMMANDS.values()]
    rows[-1:-1] = [(f"import {what} FILE", description) for what, (_, description) in IMPORTS.items()]
    width = 36
    lines = ["usage: kopilka COMMAND [options]", "", "Commands:"]
    for usage, description in rows:
        if len(usage) < width - 2:
            lines.append(f"  {usage:<{width - 2}}{description}")
        else:
            lines.extend([f"  {usage}", f"  {'':<{width - 2}}{description}"])
    lines += [
        "",
        "Any other manage.py command works too: kopilka shell, kopilka createsuperuser,",
        "kopilka changepassword admin, ... `kopilka help` lists them all;",
        "`kopilka COMMAND --help` shows the options of one.",
    ]
    return "\n".join(lines)


def manage_py_argv(args: list[str]) -> list[str]:
    """The manage.py arguments for `kopilka ARGS` (without the program name)."""
    name, rest = args[0], args[1:]
    if name == "import":
        if not rest or rest[0] in HELP_FLAGS:
            raise UsageError("usage: kopilka import {" + ",".join(IMPORTS) + "} FILE")
        if rest[0] not in IMPORTS:
            raise UsageError(f"kopilka import: unknown kind {rest[0]!r}; known: {', '.join(IMPORTS)}")
        return [IMPORTS[rest[0]][0], *rest[1:]]
    if name in COMMANDS:
        return [COMMANDS[name][0], *rest]
    return args


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in HELP_FLAGS:
        print(help_text())
        return
    try:
        command = manage_py_argv(args)
    except UsageError as e:
        print(e, file=sys.stderr)
        sys.exit(2)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kopilka.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["kopilka", *command])


if __name__ == "__main__":
    main()
