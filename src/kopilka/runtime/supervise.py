"""Run several long-lived commands as one: a stop request or the end of any of them stops them all.

Invariants: each child gets exactly one SIGTERM from us (children run in their own process group, so a
terminal's Ctrl-C reaches only this process, which forwards it); a child still running `grace` seconds after
its SIGTERM, or after one more Ctrl-C, is killed; on Linux a child is also sent SIGTERM if this process dies.
"""

import ctypes
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def supervise(commands: Sequence[Sequence[str]], *, grace: float = 20.0, poll: float = 0.2) -> int:
    """Run `commands` until SIGINT/SIGTERM or until one exits; returns 0 after a requested stop that every
    child honoured, else the first non-zero exit status (a killed child counts as 128 + signal)."""
    signals_received: list[int] = []

    def request_stop(signum, frame) -> None:
        signals_received.append(signum)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    preexec = _die_with_parent if sys.platform == "linux" else None
    children: list[subprocess.Popen] = []
    try:
        for command in commands:
            children.append(subprocess.Popen(list(command), process_group=0, preexec_fn=preexec))
        while not signals_received and all(child.poll() is None for child in children):
            time.sleep(poll)
        requested = bool(signals_received)
        stops_seen = len(signals_received)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while any(child.poll() is None for child in children):
            if time.monotonic() >= deadline or len(signals_received) > stops_seen:
                for child in children:
                    if child.poll() is None:
                        child.kill()
            time.sleep(poll)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    statuses = [128 - child.returncode if child.returncode < 0 else child.returncode for child in children]
    failures = [status for status in statuses if status != 0]
    if requested and all(status in (0, 128 + signal.SIGTERM) for status in statuses):
        return 0
    return failures[0] if failures else 0
