"""The apps import down their layers, no module imports itself through others, and each app's docstring
says truly what it may import."""

import importlib
import re
import tomllib
from pathlib import Path

import pytest

from tests.imports import app_of, circles, imported_by, modules

# From the top floor down (kopilka/__init__.py); apps on one floor import nothing of each other.
LAYERS = [
    {"runtime"},
    {"api", "backoffice", "seed"},
    {"purchases"},
    {"communications", "analytics"},
    {"campaigns"},
    {"tiers"},
    {"ledger"},
    {"orders"},
    {"catalog"},
    {"customers"},
    {"core"},
]
APPS = sorted(set().union(*LAYERS))
FLOOR = {app: floor for floor, apps in enumerate(LAYERS) for app in apps}


def imports_of_app(app: str) -> dict[str, set[str]]:
    """Other apps of the project that `app` imports → the modules of `app` that import each."""
    found: dict[str, set[str]] = {}
    for module in modules(f"kopilka.{app}"):
        for name in imported_by(module):
            other = app_of(name)
            if other in FLOOR and other != app:
                found.setdefault(other, set()).add(module)
    return found


def test_every_app_of_the_project_has_its_floor():
    packages = {app_of(name) for name in modules() if name.count(".") >= 2}
    assert packages - {"settings", "locale"} == set(APPS)


@pytest.mark.parametrize("app", APPS)
def test_an_app_imports_only_apps_below_it(app):
    upward = {other: sorted(by) for other, by in imports_of_app(app).items() if FLOOR[other] <= FLOOR[app]}
    assert upward == {}


def declared_imports(app: str) -> set[str] | None:
    """The apps the "May import:" sentence of the app's docstring names (None: "anything")."""
    doc = importlib.import_module(f"kopilka.{app}").__doc__ or ""
    found = re.search(r"May import: ([^.]*)\.", doc)
    assert found, f"kopilka.{app} says nothing of what it may import"
    text = " ".join(found.group(1).split())
    if text == "anything":
        return None
    if text == "no other app":
        return set()
    return {name.strip() for name in text.split(",")}


@pytest.mark.parametrize("app", APPS)
def test_an_app_imports_only_what_its_docstring_allows(app):
    allowed = declared_imports(app)
    if allowed is None:
        return
    assert allowed <= set(APPS)
    assert all(FLOOR[other] > FLOOR[app] for other in allowed), "a docstring allows an import up the floors"
    assert set(imports_of_app(app)) <= allowed


def test_the_import_contracts_of_make_lint_have_these_floors():
    config = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [contract["layers"] for contract in config["contracts"] if contract["type"] == "layers"]
    assert [{name.strip() for name in floor.split("|")} for floor in layers] == LAYERS


def test_no_modules_of_the_project_import_each_other_in_a_circle():
    assert circles("kopilka") == []
