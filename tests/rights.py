"""The rights of the back office's roles as docs/roles.md states them, read from its tables, for the tests that hold
the platform to them (tests/backoffice/test_access.py, tests/api/test_roles.py)."""

from pathlib import Path

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "roles.md"
ROLE_NAMES = ["administrator", "marketer", "support", "senior_support", "head_of_support", "analyst", "auditor"]
YES, NO = "✓", "—"


def _table(heading: str) -> list[dict[str, str]]:
    """The rows of the first table under `heading` (a line "## heading"), each by its column names."""
    lines = DOCUMENT.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"## {heading}")
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            rows.append([cell.strip().strip("`") for cell in line.strip().strip("|").split("|")])
    header, body = rows[0], [row for row in rows[1:] if not set("".join(row)) <= set("-: ")]
    return [dict(zip(header, row, strict=True)) for row in body]


def _roles(row: dict[str, str]) -> set[str]:
    marks = {role: row[role] for role in ROLE_NAMES}
    unknown = {mark for mark in marks.values() if mark not in (YES, NO)}
    assert not unknown, f"docs/roles.md: a cell is neither {YES} nor {NO}: {unknown}"
    return {role for role, mark in marks.items() if mark == YES}


def documented_role_scopes() -> dict[str, set[str]]:
    """scope → the roles whose staff hold it (the table "The API")."""
    return {row["scope"]: _roles(row) for row in _table("The API")}


def documented_office_rights() -> dict[tuple[str, str], set[str]]:
    """(address, method) → the roles that may use it (the table "The back office")."""
    return {(row["address"], row["method"]): _roles(row) for row in _table("The back office")}
