"""`core` is the ground floor: it imports no other app of the project, and its modules import each other
in no circle."""

from tests.imports import app_of, circles, imported_by, modules


def test_core_imports_no_other_app():
    foreign = {
        module: sorted(name for name in imported_by(module) if app_of(name) not in (None, "core"))
        for module in modules("kopilka.core")
    }
    assert {module: names for module, names in foreign.items() if names} == {}


def test_the_core_modules_are_read_lazy_imports_included():
    # imported inside a function
    assert "kopilka.core.models.ProgrammeSettings" in imported_by("kopilka.core.programme")
    assert "kopilka.core.models" in modules("kopilka.core")


def test_the_core_modules_import_each_other_without_a_circle():
    assert circles("kopilka.core") == []
