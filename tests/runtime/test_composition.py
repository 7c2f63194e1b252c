"""The composition root sits on top: it may import anything, nothing imports it; it wires what would otherwise be
registered by importing."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from kopilka.communications import notice_texts, services
from kopilka.communications.journeys import models as journeys
from kopilka.communications.journeys import texts
from kopilka.communications.mailings import filling
from kopilka.communications.mailings import models as mailings
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


def test_the_outbox_fills_the_texts_of_mailings_journeys_and_campaign_notices_by_the_composition_roots_fillers():
    assert services.FILLERS == {mailings.MESSAGE_KIND: filling.fill, journeys.MESSAGE_KIND: texts.fill,
                                **{kind: notice_texts.fill for kind in notice_texts.KINDS}}


def test_a_second_filler_for_a_kind_is_refused_and_the_first_stays():
    services.fill_at_send(mailings.MESSAGE_KIND, filling.fill)  # the same one again changes nothing
    with pytest.raises(ImproperlyConfigured):
        services.fill_at_send(mailings.MESSAGE_KIND, texts.fill)
    assert services.FILLERS[mailings.MESSAGE_KIND] is filling.fill
