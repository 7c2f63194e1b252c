"""A journey's entry and steps as stored JSON: read, checked and written back; every refusal names the step and
what is wrong, in the reader's language."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import translation

from kopilka.communications.journeys.blueprints import ANNA
from kopilka.communications.journeys.graph import dump_graph, parse_graph, parse_trigger
from kopilka.core.errors import ValidationFailed


def steps(**given) -> dict:
    return {"start": next(iter(given)), "steps": given}


def refusal(data) -> str:
    with translation.override("en"), pytest.raises(ValidationFailed) as refused:
        parse_graph(data)
    return str(refused.value.message)


def test_the_anna_graph_reads_in_the_order_of_its_way_and_writes_back_the_same():
    graph = parse_graph(ANNA.graph)
    assert [step.id for step in graph.order()] == ["remind", "wait", "ordered", "remind-again", "offer"]
    assert graph.steps["wait"].wait == timedelta(days=3)
    assert graph.steps["ordered"].exits == (("yes", "offer"), ("no", "remind-again"))
    assert dump_graph(graph) == ANNA.graph


def test_a_split_reads_its_shares_and_a_wait_for_an_event_its_two_exits():
    graph = parse_graph(steps(
        ab={"kind": "split", "paths": [{"share": 30, "next": "a"}, {"share": 70, "next": None}]},
        a={"kind": "wait_event", "event": "event:review", "timeout_days": 5, "on_event": None, "on_timeout": "out"},
        out={"kind": "exit"},
    ))
    assert graph.steps["ab"].exits == (("path-1:30", "a"), ("path-2:70", None))
    assert graph.steps["a"].exits == (("event", None), ("timeout", "out"))
    assert dump_graph(graph)["steps"]["ab"] == {"kind": "split", "paths": [{"share": 30, "next": "a"},
                                                                          {"share": 70, "next": None}]}


@pytest.mark.parametrize("data, message", [
    ({"start": "a", "steps": {}}, "A journey needs at least one step."),
    (steps(a={"kind": "wait", "days": 1, "next": "b"}), "Step a leads to b, which is not a step of the journey."),
    (steps(a={"kind": "wait", "days": 1, "next": "b"}, b={"kind": "wait", "hours": 2, "next": "a"}),
     "Step b leads back to a: a journey goes forward only."),
    (steps(a={"kind": "exit"}, b={"kind": "exit"}), "No way leads to the steps b."),
    (steps(a={"kind": "wait", "days": 0, "hours": 0}), "Step a: a wait lasts at least an hour."),
    (steps(a={"kind": "wait", "days": 400}), "Step a: days is a whole number from 0 to 365."),
    (steps(a={"kind": "send", "template": " "}), "Step a: template is required."),
    (steps(a={"kind": "wait_event", "event": "order.lost", "timeout_days": 3}), "Step a: unknown event order.lost."),
    (steps(a={"kind": "split", "paths": [{"share": 50}, {"share": 40}]}),
     "Step a: the shares add up to 90%, not 100%."),
    (steps(a={"kind": "branch", "condition": {"kind": "conditions", "tree": {"type": "nonsense"}}}),
     None),
    (steps(a={"kind": "teleport"}), "Step a: choose what it does."),
    (steps(**{"шаг": {"kind": "exit"}}), "A step's id is up to 40 Latin letters, digits, - and _."),
])
def test_a_graph_that_cannot_run_is_refused_with_the_reason(data, message):
    got = refusal(data)
    if message is None:
        assert got.startswith("Step a: the conditions cannot be read:")
    else:
        assert got == message


def test_refusals_speak_russian_to_a_russian_reader():
    with translation.override("ru"), pytest.raises(ValidationFailed) as refused:
        parse_graph(steps(a={"kind": "wait", "days": 1, "next": "b"}))
    assert str(refused.value.message) == "Шаг a ведёт к b, а такого шага в сценарии нет."


@pytest.mark.parametrize("data, read", [
    ({"kind": "event", "event": "order.paid"}, ("event", "order.paid", 0)),
    ({"kind": "inactivity", "days": 90}, ("inactivity", "", 90)),
    ({"kind": "birthday"}, ("birthday", "", 0)),
])
def test_entries_read(data, read):
    trigger = parse_trigger(data)
    assert (trigger.kind, trigger.event, trigger.days) == read


def test_a_moment_needs_its_time_zone():
    assert parse_trigger({"kind": "schedule", "at": "2026-06-10T12:00:00+00:00"}).at == datetime(2026, 6, 10, 12,
                                                                                                 tzinfo=UTC)
    with translation.override("en"), pytest.raises(ValidationFailed) as refused:
        parse_trigger({"kind": "schedule", "at": "2026-06-10T12:00:00"})
    assert str(refused.value.message) == "Entry: the moment is a date and time with its time zone."
