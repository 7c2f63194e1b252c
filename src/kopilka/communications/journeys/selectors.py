"""What a journey's page shows: per step, how many members wait there now and how many have passed it; the visits
by how they stand; the versions with the members inside each."""

from dataclasses import dataclass

from django.db.models import Count, Q

from kopilka.communications.journeys.models import OPEN, Journey, JourneyState, JourneyStep, JourneyVersion


@dataclass(frozen=True)
class StepCount:
    waiting: int  # inside at the step now (all versions)
    passed: int  # took the step


@dataclass(frozen=True)
class Visits:
    entered: int
    inside: int
    done: int
    exited: int
    held_out_journey: int
    held_out_control_group: int


def step_counts(journey: Journey) -> dict[str, StepCount]:
    waiting = dict(JourneyState.objects.filter(journey=journey, status__in=OPEN).values_list("step")
                   .annotate(n=Count("id")).values_list("step", "n"))
    passed = dict(JourneyStep.objects.filter(state__journey=journey).values_list("step")
                  .annotate(n=Count("id")).values_list("step", "n"))
    return {step: StepCount(waiting.get(step, 0), passed.get(step, 0)) for step in {*waiting, *passed}}


def visits(journey: Journey) -> Visits:
    states = JourneyState.objects.filter(journey=journey)
    counted = states.aggregate(
        entered=Count("id"), inside=Count("id", filter=Q(status__in=OPEN)), done=Count("id", filter=Q(status="done")),
        exited=Count("id", filter=Q(status="exited")),
        held_out_journey=Count("id", filter=Q(status="held_out", held_out_by="journey")),
        held_out_control_group=Count("id", filter=Q(status="held_out", held_out_by="control_group")),
    )
    return Visits(**counted)


def versions(journey: Journey) -> list[tuple[JourneyVersion, int]]:
    """The versions, newest first, each with the members inside it now."""
    found = JourneyVersion.objects.filter(journey=journey).annotate(
        inside=Count("states", filter=Q(states__status__in=OPEN))).order_by("-number")
    return [(version, version.inside) for version in found]
