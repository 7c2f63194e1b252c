"""Helpers for tests that start the project's commands as real processes."""

import os
import socket
import sys
import time
from pathlib import Path

import httpx

KOPILKA = Path(sys.executable).with_name("kopilka")  # the console script installed beside this interpreter


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def isolated_env(data_dir: Path) -> dict[str, str]:
    """The environment for a child with its own SQLite database and static files under `data_dir`."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["KOPILKA_DATA_DIR"] = str(data_dir)
    return env


def wait_for_http(url: str, timeout: float = 60.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
