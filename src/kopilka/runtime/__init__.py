"""The composition root: what assembles the apps into a running platform.

Owns the `kopilka` commands that start or fill the platform (`demo`, `serve`, `worker`, `seed`, with `supervise`
running server and worker as one; `served`, the application as `serve` preloads it), the periodic schedule
(`schedule.SCHEDULE`, the one list of periodic jobs) and the wiring between apps, or parts of one, that would
otherwise happen by importing them (`apps.RuntimeConfig.ready`: signal handlers, the outbox's fillers of texts).
May import: anything. Imported by: nothing (Django finds its commands and its app config by name).
Keeps true: no other app registers a periodic job, a signal handler or a filler of texts on import; a job named
here runs once per slot across all workers.
"""
