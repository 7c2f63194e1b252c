"""The faults the fault test (`chaos.py`) injects: the server and the two workers as processes that get SIGKILL and
are started again, the worker caught sending the outbox, `kopilka expire` runs killed midway, and the SMTP server on
loopback that receives the outbox."""

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from email import message_from_bytes
from pathlib import Path

from common import log

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def accepting(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


class Processes:
    """The server and the two workers: started, killed (SIGKILL to the whole process group) and started again;
    `up_moments` are the monotonic moments at which the server accepted connections after each start. Whoever kills
    a worker holds `worker_lock` until it has started it again, so two killers never restart one worker twice."""

    def __init__(self, env: dict[str, str], port: int, logs: Path):
        self.env, self.port, self.logs = env, port, logs
        self.server: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen | None] = [None, None]
        self.worker_ids: list[str] = ["", ""]
        self.starts = 0
        self.up_moments: list[float] = []
        self.lock = threading.Lock()
        self.worker_lock = threading.Lock()

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        self.starts += 1
        with open(self.logs / f"{name}-{self.starts}.log", "wb") as out:  # the child writes to its own copy
            return subprocess.Popen([sys.executable, "-m", "kopilka.cli", *args], env=self.env, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)

    def start_server(self) -> None:
        self.server = self._spawn("server", ["serve", "--bind", f"{HOST}:{self.port}", "--workers", "2",
                                             "--threads", "4"])
        deadline = time.monotonic() + 60
        while not accepting(self.port):
            if self.server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the web server did not start (see {self.logs})")
            time.sleep(0.05)
        with self.lock:
            self.up_moments.append(time.monotonic())

    def start_worker(self, n: int) -> None:
        self.worker_ids[n] = f"chaos-{n}-{self.starts + 1}"
        self.workers[n] = self._spawn(f"worker{n}", [
            "worker", "--tick", "1", "--interval", "0.5", "--no-startup-delay", "--worker-id", self.worker_ids[n]])

    @staticmethod
    def _kill(process: subprocess.Popen | None) -> None:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def kill_server(self) -> None:
        self._kill(self.server)

    def kill_worker(self, n: int) -> None:
        self._kill(self.workers[n])

    def worker_alive(self, n: int) -> bool:
        worker = self.workers[n]
        return worker is not None and worker.poll() is None

    def last_up(self, since: float, until: float) -> float | None:
        """The last moment between `since` and `until` at which a started server accepted connections."""
        with self.lock:
            return max((up for up in self.up_moments if since <= up <= until), default=None)

    def ensure_running(self) -> None:
        if self.server is None or self.server.poll() is not None:
            self.start_server()
        for n, worker in enumerate(self.workers):
            if worker is None or worker.poll() is not None:
                self.start_worker(n)

    def stop(self) -> None:
        for process in [self.server, *self.workers]:
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [self.server, *self.workers]:
            if process is not None:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


@dataclass
class Chaos:
    """What the killer and the expiry runner did."""

    kills: int = 0
    server_kills: int = 0
    worker_kills: int = 0
    expiry_runs: int = 0
    expiry_kills: int = 0
    outbox_kills: int = 0
    server_down_s: float = 0.0  # the longest time from a server's SIGKILL to its accepting connections again


def killer(processes: Processes, chaos: Chaos, kills: int, seconds: float, rng: random.Random,
           stop: threading.Event) -> None:
    """`kills` times at random moments of the run: the server, a worker or both get SIGKILL, and are started again
    after a pause of up to a second. The first kill is the server's, the second a worker's. Every kill happens: one
    whose moment a slow restart pushed past the clients' end (`stop`) happens at once."""
    started = time.monotonic()
    moments = sorted(rng.uniform(0.1, 0.85) * seconds for _ in range(kills))
    for n, moment in enumerate(moments):
        stop.wait(max(0.0, started + moment - time.monotonic()))
        target = "server" if n == 0 else "worker" if n == 1 else rng.choice(["server", "worker", "both"])
        worker = rng.randrange(2)
        with processes.worker_lock if target in ("worker", "both") else nullcontext():
            if target in ("server", "both"):
                killed = time.monotonic()
                processes.kill_server()
                chaos.kills += 1
                chaos.server_kills += 1
            if target in ("worker", "both"):
                processes.kill_worker(worker)
                chaos.kills += 1
                chaos.worker_kills += 1
            what = {"server": "server", "worker": f"worker {worker}", "both": f"server and worker {worker}"}[target]
            log(f"  {time.monotonic() - started:5.1f}s: SIGKILL to the {what}")
            time.sleep(rng.uniform(0, 1))
            if target in ("worker", "both"):
                processes.start_worker(worker)
        if target in ("server", "both"):
            processes.start_server()
            chaos.server_down_s = max(chaos.server_down_s, time.monotonic() - killed)
            log(f"  {time.monotonic() - started:5.1f}s: the server accepts connections again")


def outbox_killer(processes: Processes, chaos: Chaos, inbox: "Inbox", at: float, notice: Callable[[], None]) -> None:
    """At the monotonic moment `at`, catches a worker handing a message to the SMTP server and kills it then: records
    a notice of its own (`notice`, so that one is queued), has the SMTP server hold the next message's data
    unanswered (`Inbox.catch`), has a delivery run start at once (`deliver_messages` enqueued, beside the schedule's
    runs) and kills the worker that runs `deliver_messages` while the server holds the data. The SMTP server keeps
    that message, which the worker never recorded as sent, and the rest of the worker's claimed chunk waits for its
    lease to run out; both go out again after the lease (the held one is a repeat under the same Message-ID). Tries
    again (at most 3 times) when no worker of the moment was found running the delivery (one the random killer
    restarted meanwhile)."""
    from django.db import connection
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from kopilka.communications.tasks import deliver_messages

    time.sleep(max(0.0, at - time.monotonic()))
    try:
        for _round in range(3):
            notice()
            caught = inbox.catch()
            deliver_messages.enqueue(slot=f"chaos-{time.time():.3f}")
            if not caught.wait(timeout=20):
                inbox.release()
                log("  no message reached the SMTP server within 20 s of a delivery run's start")
                continue
            deadline = time.monotonic() + Inbox.HOLD_S - 1
            while time.monotonic() < deadline:
                running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING,
                                                      task_path__endswith=".deliver_messages")
                ids = {worker_id for result in running for worker_id in result.worker_ids[-1:]}
                with processes.worker_lock:
                    sending = [n for n, worker_id in enumerate(processes.worker_ids)
                               if worker_id in ids and processes.worker_alive(n)]
                    for n in sending:
                        processes.kill_worker(n)
                        chaos.kills += 1
                        chaos.worker_kills += 1
                        chaos.outbox_kills += 1
                        log(f"  {time.strftime('%H:%M:%S', time.gmtime())}: SIGKILL to worker {n} while it hands "
                            f"a message to the SMTP server ({inbox.count()} received so far)")
                    inbox.release()
                    for n in sending:
                        processes.start_worker(n)
                if sending:
                    return
                time.sleep(0.05)
            inbox.release()
            log("  the worker holding the SMTP server's message was not found running the delivery")
    finally:
        connection.close()


def expirer(env: dict[str, str], chaos: Chaos, rng: random.Random, stop: threading.Event) -> None:
    """`kopilka expire` every 3–8 s, a third of the runs getting SIGKILL after 0.3–2 s; once the clients have stopped,
    one more run that is not killed, so every lot that expired during the run is burned by the end."""
    while not stop.wait(rng.uniform(3, 8)):
        run = subprocess.Popen([sys.executable, "-m", "kopilka.cli", "expire"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        chaos.expiry_runs += 1
        if rng.random() < 1 / 3:
            try:
                run.wait(timeout=rng.uniform(0.3, 2))
            except subprocess.TimeoutExpired:
                os.killpg(run.pid, signal.SIGKILL)
                chaos.expiry_kills += 1
        run.wait()
    final = subprocess.run([sys.executable, "-m", "kopilka.cli", "expire"], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    chaos.expiry_runs += 1
    if final.returncode:
        log(f"  the last run of kopilka expire failed: {final.stderr[-2000:]}")


class Inbox:
    """An SMTP handler that keeps the Message-ID of every message it accepts, taking `delay` seconds over each
    (a sending worker is then killed in the middle of its chunk, not after it). After `catch()` it holds the next
    message's answer back until `release()` (at most HOLD_S), live all the while (a line of a multi-line answer every
    0.2 s, within any SMTP timeout): that message counts as received, whatever becomes of its sender."""

    HOLD_S = 8.0  # below the sender's cut-off of 10 SMTP timeouts (`send_limit()`)

    def __init__(self, delay: float):
        self.ids: list[str] = []
        self.delay = delay
        self.lock = threading.Lock()
        self._armed: threading.Event | None = None
        self._released = threading.Event()

    def count(self) -> int:
        with self.lock:
            return len(self.ids)

    def catch(self) -> threading.Event:
        """Hold the next message's answer back; returns the event set when its data has arrived."""
        with self.lock:
            self._released.clear()
            self._armed = threading.Event()
            return self._armed

    def release(self) -> None:
        with self.lock:
            self._armed = None
            self._released.set()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        message_id = (message_from_bytes(envelope.content)["Message-ID"] or "").strip()
        with self.lock:
            caught, self._armed = self._armed, None
            if caught is not None:
                self.ids.append(message_id)
        if caught is not None:
            caught.set()
            until = time.monotonic() + self.HOLD_S
            while not self._released.is_set() and time.monotonic() < until:
                await server.push("250-still working")
                await asyncio.sleep(0.2)
            return "250 OK"
        await asyncio.sleep(self.delay)
        with self.lock:
            self.ids.append(message_id)
        return "250 OK"
