"""Ending a send at a moment, whatever it is doing then: the send's socket is shut down from a watcher thread.

Timeouts bound each socket operation, not the conversation: a slow but live server (SMTP or HTTP) answers every
read in time and the whole send still runs on. A send is cut off at its deadline so that it always ends inside the
claim of its worker (`services.lease()`)."""

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

POLL_S = 0.05


class SendFailed(Exception):
    """A try at sending that did not go out; the text says why and is kept with the try."""


@contextmanager
def cut_off(socket_of: Callable[[], socket.socket | None], deadline: float) -> Iterator[threading.Event]:
    """Shut down the socket `socket_of()` gives at the monotonic moment `deadline`, and every socket it gives after
    that until the block ends (one opened later is shut at once); yields the event set at that moment."""
    done, cut = threading.Event(), threading.Event()

    def watch() -> None:
        if done.wait(max(0.0, deadline - time.monotonic())):
            return
        cut.set()
        while True:
            sock = socket_of()
            if sock is not None:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            if done.wait(POLL_S):
                return

    watcher = threading.Thread(target=watch, name="send-cut-off", daemon=True)
    watcher.start()
    try:
        yield cut
    finally:
        done.set()
        watcher.join()
