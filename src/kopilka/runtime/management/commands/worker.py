"""`manage.py worker`: django-tasks-db's worker plus the periodic schedule of `runtime.schedule`, in one
process.

Without --batch the scheduler ticks in a thread beside the task loop. With --batch one tick runs first, then
every task that is ready (the periodic ones just enqueued included), then the command exits (for cron).
"""

import os
import signal

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand
from django_tasks_db.management.commands.db_worker import valid_interval

from kopilka.core import scheduling
from kopilka.runtime.schedule import SCHEDULE


class Command(DatabaseWorkerCommand):
    help = "Run queued background tasks (all queues by default) and the periodic schedule"

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(queue_name="*", reload=False)
        parser.add_argument(
            "--tick",
            type=valid_interval,
            default=5.0,
            help="Seconds between two looks at the periodic schedule (default: %(default)r)",
        )
        parser.add_argument(
            "--no-schedule",
            action="store_false",
            dest="schedule",
            help="Only run queued tasks; another worker keeps the schedule",
        )

    def handle(self, *, schedule: bool, tick: float, **options) -> None:
        batch, reload, worker_id = options["batch"], options["reload"], options["worker_id"]
        # With --reload the parent process only watches files; the child it starts runs the tasks.
        runs_tasks = batch or not reload or os.environ.get(DJANGO_AUTORELOAD_ENV) == "true"
        if schedule and runs_tasks and batch:
            scheduling.tick(worker_id=worker_id, jobs=SCHEDULE)
        scheduler = None
        if schedule and runs_tasks and not batch:
            scheduler = scheduling.SchedulerThread(worker_id=worker_id, jobs=SCHEDULE, interval=tick)
            scheduler.start()
        # The task loop installs its own signal handlers; an in-process caller gets its own back.
        handled = (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)
        previous_handlers = {sig: signal.getsignal(sig) for sig in handled}
        try:
            super().handle(**options)
        finally:
            if scheduler is not None:
                scheduler.stop()
            for sig, handler in previous_handlers.items():
                signal.signal(sig, handler)
