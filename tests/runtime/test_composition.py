"""The composition root sits on top: it may import anything, nothing imports it."""

from tests.imports import app_of, imported_by, modules


def test_no_module_outside_runtime_imports_it():
    importers = {
        module: sorted(name for name in imported_by(module) if app_of(name) == "runtime")
        for module in modules()
        if app_of(module) != "runtime"
    }
    assert {module: names for module, names in importers.items() if names} == {}


def test_the_reader_of_imports_sees_the_runtime_importing_the_apps():
    assert "kopilka.ledger.tasks.nightly_expiry" in imported_by("kopilka.runtime.schedule")
    assert app_of("kopilka.ledger.tasks") == "ledger"
