"""No ledger module imports one that imports it back; `services` is the public surface of the writes."""

from kopilka.ledger import services
from tests.imports import circles, circles_in


def test_no_ledger_module_imports_another_that_imports_it_back():
    assert circles("kopilka.ledger") == []


def test_the_circle_finder_finds_a_circle():
    graph = {"expiry": ["services"], "services": ["expiry", "booking"], "booking": []}
    assert circles_in(graph) == [["expiry", "services"]]


def test_services_names_every_write_of_the_modules_by_job():
    assert sorted(services.__all__) == [
        "Accrual", "Source", "TakeBack", "accrue", "accrue_many", "adjust", "burn_lot", "capture", "capture_held",
        "end_expired_hold", "expire", "hold", "hold_fresh", "release", "release_expired_holds", "restore_spend",
        "reverse_accrual", "reverse_accruals", "spend",
    ]
    assert {services.accrue.__module__, services.accrue_many.__module__} == {"kopilka.ledger.accruals"}
    assert services.capture_held.__module__ == "kopilka.ledger.capturing"
    assert services.spend.__module__ == "kopilka.ledger.spending"
    holds = (services.hold, services.capture, services.release, services.release_expired_holds)
    assert {write.__module__ for write in holds} == {"kopilka.ledger.holds"}
    assert services.hold_fresh.__module__ == "kopilka.ledger.fresh_holds"
    reversals = (services.reverse_accrual, services.reverse_accruals, services.restore_spend)
    assert {write.__module__ for write in reversals} == {"kopilka.ledger.reversals"}
    assert {services.adjust.__module__, services.burn_lot.__module__} == {"kopilka.ledger.adjustments"}
