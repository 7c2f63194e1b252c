"""`manage.py import_transactions`: the summary it prints, and the report with which it refuses a file."""

import io

import pytest
from django.core.management import CommandError, call_command

from kopilka.orders.models import ImportBatch, Order

from .conftest import HEADER, table_counts

pytestmark = pytest.mark.django_db

ROWS = (
    HEADER,
    "C-1,2024-03-01 10:00,100.00,R-1,SKU-A,1,100.00,77",
    "C-1,2024-03-01 10:00,50.00,R-1,SKU-B,1,50.00,77",
    ",2024-03-01 11:00,20.00,,,,,",
)


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("import_transactions", *args, stdout=out)
    return out.getvalue()


def test_the_command_imports_and_prints_a_summary(write_csv, regions, capsys):
    # given a file with a two-line member's order and a non-member's purchase
    path = write_csv("day.csv", *ROWS)

    # when the command imports it twice
    first = _run(str(path), "--actor", "anna")
    second = _run(str(path))

    # then the summaries say what was added, then that everything was skipped
    assert first == (
        "Orders created: 2 (of non-members: 1), lines: 3, members created: 1, "
        "orders skipped as already imported: 0.\n"
    )
    assert second == (
        "Orders created: 0 (of non-members: 0), lines: 0, members created: 0, "
        "orders skipped as already imported: 2.\n"
    )
    assert Order.objects.count() == 2
    assert ImportBatch.objects.order_by("pk").first().actor == "anna"

    # and the progress of both passes went to stderr
    progress = capsys.readouterr().err.splitlines()
    assert "Staging rows: 3/3 (100%)" in [line.split(",")[0] for line in progress]
    assert any(line.startswith("Checking rows: 3, ") for line in progress)


def test_a_dry_run_says_so_and_saves_nothing(write_csv, regions):
    path = write_csv("day.csv", *ROWS)
    before = table_counts()

    summary = _run(str(path), "--dry-run")

    assert summary == (
        "Dry run, nothing saved. Orders created: 2 (of non-members: 1), lines: 3, members created: 1, "
        "orders skipped as already imported: 0.\n"
    )
    assert table_counts() == before


def test_a_bad_file_is_refused_with_the_report(write_csv, regions):
    # given a file with a bad date on line 3 and a negative amount on line 4
    path = write_csv(
        "bad.csv", HEADER, "C-1,2024-03-01,1,,,,,", "C-1,2024-02-30,1,,,,,", "C-1,2024-03-01,-1,,,,,"
    )
    before = table_counts()

    # when the command imports it
    with pytest.raises(CommandError) as refused:
        _run(str(path))

    # then the report names both lines and nothing is stored
    assert str(refused.value).splitlines() == [
        "The file was not imported: 2 errors.",
        "line 3, column purchased_at, value “2024-02-30”: Not a date; use YYYY-MM-DD or DD.MM.YYYY, "
        "optionally with a time HH:MM[:SS].",
        "line 4, column amount, value “-1”: The value must not be negative.",
    ]
    assert table_counts() == before


def test_a_missing_file_is_refused(tmp_path, regions):
    with pytest.raises(CommandError, match="No such file"):
        _run(str(tmp_path / "absent.csv"))
