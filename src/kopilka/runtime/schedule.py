"""The periodic schedule: every job the worker enqueues, when, and what it runs — the one list of them.

A job is enqueued once per slot across all workers (`core.scheduling`); its task is called with `slot`, the
ISO 8601 moment the run is for. Daily times are wall-clock times in the programme's time zone; intervals are
slots on multiples of the interval since the Unix epoch. A job's name keys its runs in the database: renaming
one runs it again in the current slot.
"""

from django.conf import settings

from kopilka.analytics.snapshots.tasks import nightly_snapshots
from kopilka.campaigns.tasks import advance_campaign_schedule, birthdays
from kopilka.communications.journeys.tasks import run_journeys
from kopilka.communications.mailings.tasks import advance_mailings
from kopilka.communications.tasks import (
    deliver_messages,
    deliver_webhooks,
    personal_notices,
    points_expiring,
    prune_outbox,
)
from kopilka.core.retention import prune_idempotency
from kopilka.core.scheduling import DailyAt, Every, PeriodicJob, prune_periodic_results
from kopilka.ledger.tasks import nightly_expiry, release_expired_holds
from kopilka.tiers.tasks import review_tiers


def nightly_expiry_time() -> DailyAt:
    """KOPILKA["NIGHTLY_EXPIRY_AT"], read at every tick so that the schedule follows the settings."""
    return DailyAt(settings.KOPILKA["NIGHTLY_EXPIRY_AT"])


MINUTE = Every(seconds=60)

SCHEDULE: tuple[PeriodicJob, ...] = (
    #           name                          task                       when
    # the ledger: burn expired lots, end holds whose time ran out
    PeriodicJob("nightly_expiry",             nightly_expiry,            nightly_expiry_time),
    PeriodicJob("release_expired_holds",      release_expired_holds,     MINUTE),
    # the task queue: delete old results of these jobs
    PeriodicJob("prune_periodic_results",     prune_periodic_results,    DailyAt("04:00")),
    # the API: forget the first answers of writes older than KOPILKA["IDEMPOTENCY_DAYS"]
    PeriodicJob("prune_idempotency",          prune_idempotency,         DailyAt("04:10")),
    # campaigns: start and finish them on schedule; record the day's birthdays
    PeriodicJob("advance_campaign_schedule",  advance_campaign_schedule, MINUTE),
    PeriodicJob("birthdays",                  birthdays,                 DailyAt("09:00")),
    # tiers: the review that moves members to the tier they qualify for (on review days)
    PeriodicJob("review_tiers",               review_tiers,              DailyAt("00:30")),
    # communications: send the outbox; turn ledger entries and journey steps into events and deliver webhooks
    PeriodicJob("deliver_messages",           deliver_messages,          MINUTE),
    PeriodicJob("deliver_webhooks",           deliver_webhooks,          MINUTE),
    # communications: delete the deliveries and events done with longer than KOPILKA["OUTBOX_DAYS"] ago
    PeriodicJob("prune_outbox",               prune_outbox,              DailyAt("04:20")),
    # communications: personal notices of what happened and of campaigns; the coming burns, each morning
    PeriodicJob("personal_notices",           personal_notices,          MINUTE),
    PeriodicJob("points_expiring",            points_expiring,           DailyAt("10:00")),
    # communications: start scheduled mailings, write their messages to the outbox, mark sent those done
    PeriodicJob("advance_mailings",           advance_mailings,          MINUTE),
    # journeys: members enter, wait, are woken by what they do, and take their due steps
    PeriodicJob("run_journeys",               run_journeys,              MINUTE),
    # analytics: every page's standard snapshot, so pages open at once in the morning
    PeriodicJob("nightly_snapshots",          nightly_snapshots,         DailyAt("04:30")),
)
