"""The analytics' sub-packages import one way, as `kopilka/analytics/__init__.py` lists them, in no circle."""

from tests.imports import circles, circles_in, imported_by, modules

# sub-package → the analytics' sub-packages it may import
MAY_IMPORT = {
    "data": set(),
    "presentation": set(),
    "measures": {"data", "presentation"},
    "lifetime": {"data", "presentation", "measures"},
    "snapshots": {"data", "presentation", "measures", "lifetime", "models"},
    "reports": {"data", "presentation", "measures", "lifetime"},
    "management": {"data", "presentation", "measures", "lifetime", "reports"},
}


def part(name: str) -> str | None:
    """"kopilka.analytics.measures.kpi" → "measures"; None outside the analytics or for the package itself."""
    parts = name.split(".")
    return parts[2] if parts[:2] == ["kopilka", "analytics"] and len(parts) > 2 else None


def test_each_sub_package_imports_only_those_below_it():
    wrong = {}
    for module in modules("kopilka.analytics"):
        if part(module) not in MAY_IMPORT:
            continue
        upward = sorted(
            name for name in imported_by(module)
            if part(name) not in (None, part(module)) and part(name) not in MAY_IMPORT[part(module)]
        )
        if upward:
            wrong[module] = upward
    assert wrong == {}


def test_the_analytics_modules_import_each_other_without_a_circle():
    assert circles("kopilka.analytics") == []


def test_a_circle_is_found_however_long_and_only_its_members_named():
    graph = {"producers": ["snapshots"], "snapshots": ["tasks"], "tasks": ["snapshots", "standard"],
             "standard": ["producers"], "api": ["snapshots"], "scope": []}
    assert circles_in(graph) == [["producers", "snapshots", "standard", "tasks"]]
    assert circles_in({"a": ["b"], "b": []}) == []
