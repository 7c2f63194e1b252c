"""No ledger module imports one that imports it back; `services` is the public surface of the writes."""

import ast
from pathlib import Path

import kopilka.ledger
from kopilka.ledger import services

LEDGER = Path(kopilka.ledger.__file__).parent


def ledger_imports(source: str, modules: set[str]) -> set[str]:
    """The ledger modules a module's source imports, at its top or inside a function alike."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == "kopilka.ledger":
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kopilka.ledger."):
            found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
            found |= {name.split(".")[2] for name in names if name.startswith("kopilka.ledger.")}
    return found & modules


def import_graph() -> dict[str, set[str]]:
    modules = {path.stem for path in LEDGER.glob("*.py")}
    return {
        path.stem: ledger_imports(path.read_text(encoding="utf-8"), modules) - {path.stem}
        for path in LEDGER.glob("*.py")
    }


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every circle of imports, each as the path that closes it."""
    found = []

    def walk(module: str, path: list[str]) -> None:
        for imported in sorted(graph[module]):
            if imported in path:
                found.append(path[path.index(imported):] + [imported])
            else:
                walk(imported, path + [imported])

    for module in sorted(graph):
        walk(module, [module])
    return found


def test_no_ledger_module_imports_another_that_imports_it_back():
    assert circles(import_graph()) == []


def test_the_circle_finder_finds_a_circle():
    graph = {"expiry": {"services"}, "services": {"expiry", "booking"}, "booking": set()}
    assert circles(graph)[0] == ["expiry", "services", "expiry"]
    lazy = "def f():\n    from kopilka.ledger.services import x\n"
    assert ledger_imports(lazy, {"services"}) == {"services"}


def test_services_names_every_write_of_the_modules_by_job():
    assert sorted(services.__all__) == [
        "Source", "TakeBack", "accrue", "adjust", "burn_lot", "capture", "end_expired_hold", "expire", "hold",
        "release", "release_expired_holds", "restore_spend", "reverse_accrual", "reverse_accruals", "spend",
    ]
    assert services.accrue.__module__ == "kopilka.ledger.accruals"
    assert services.spend.__module__ == "kopilka.ledger.spending"
    holds = (services.hold, services.capture, services.release, services.release_expired_holds)
    assert {write.__module__ for write in holds} == {"kopilka.ledger.holds"}
    reversals = (services.reverse_accrual, services.reverse_accruals, services.restore_spend)
    assert {write.__module__ for write in reversals} == {"kopilka.ledger.reversals"}
    assert {services.adjust.__module__, services.burn_lot.__module__} == {"kopilka.ledger.adjustments"}
