import json
import signal
import subprocess
import sys
import time
from pathlib import Path

CHILD = """
import pathlib, signal, sys, time
marks = pathlib.Path(sys.argv[1])
def stop(signum, frame):
    (marks / "stopped").write_text(signal.Signals(signum).name)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
if sys.argv[2] == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
(marks / "started").write_text("yes")
if sys.argv[2].startswith("exit-"):
    sys.exit(int(sys.argv[2][5:]))
while True:
    time.sleep(0.05)
"""

SUPERVISOR = """
import json, sys
from kopilka.runtime.supervise import supervise
sys.exit(supervise(json.loads(sys.argv[1]), grace=float(sys.argv[2]), poll=0.05))
"""


def start(tmp_path: Path, behaviours: list[str], grace: float = 10.0) -> tuple[subprocess.Popen, list[Path]]:
    folders = [tmp_path / f"child{n}" for n in range(len(behaviours))]
    commands = []
    for folder, behaviour in zip(folders, behaviours, strict=True):
        folder.mkdir()
        commands.append([sys.executable, "-c", CHILD, str(folder), behaviour])
    supervisor = subprocess.Popen([sys.executable, "-c", SUPERVISOR, json.dumps(commands), str(grace)])
    return supervisor, folders


def wait_until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def started(folders: list[Path]) -> bool:
    return all((folder / "started").exists() for folder in folders)


def test_a_stop_request_reaches_every_child_once_as_sigterm(tmp_path):
    supervisor, folders = start(tmp_path, ["run", "run"])
    wait_until(lambda: started(folders))

    supervisor.send_signal(signal.SIGINT)

    assert supervisor.wait(30) == 0
    assert [(folder / "stopped").read_text() for folder in folders] == ["SIGTERM", "SIGTERM"]


def test_when_one_child_fails_the_others_are_stopped_and_its_status_returned(tmp_path):
    supervisor, folders = start(tmp_path, ["run", "exit-3"])

    assert supervisor.wait(30) == 3
    assert (folders[0] / "stopped").read_text() == "SIGTERM"


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path):
    supervisor, folders = start(tmp_path, ["run", "ignore-term"], grace=0.5)
    wait_until(lambda: started(folders))

    supervisor.send_signal(signal.SIGTERM)

    assert supervisor.wait(30) == 128 + signal.SIGKILL
    assert (folders[0] / "stopped").read_text() == "SIGTERM"
    assert not (folders[1] / "stopped").exists()
