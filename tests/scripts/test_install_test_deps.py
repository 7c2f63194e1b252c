"""scripts/install-test-deps: installs only what is missing, after one apt-get update, as root or through
sudo; with neither it prints the one command to run and fails, installing nothing.

Each run sees a PATH of its own: the few tools the script uses, a recording apt-get, and sudo only when a test
gives it, so `make` can be missing there whatever this machine has.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "install-test-deps"
TOOLS = ("bash", "env", "id", "mktemp", "rm", "dirname", "chmod")

# apt-get that records its arguments and DEBIAN_FRONTEND, and "installs" make into its own folder.
FAKE_APT_GET = """#!/bin/bash
here=$(dirname "$0")
echo "$* DEBIAN_FRONTEND=${DEBIAN_FRONTEND:-}" >> "$here/apt.log"
if [[ "$1" == install ]]; then
  for package in "$@"; do
    if [[ "$package" == make ]]; then printf '#!/bin/bash\\n' > "$here/make"; chmod 755 "$here/make"; fi
  done
fi
exit 0
"""
FAKE_SUDO = """#!/bin/bash
echo "$*" >> "$(dirname "$0")/sudo.log"
exec "$@"
"""


def executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


@pytest.fixture
def machine():
    """A folder of tools that anyone may use (the run without root is another user's), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="install-test-deps.") as name:
        folder = Path(name)
        folder.chmod(0o777)
        for tool in TOOLS:
            found = shutil.which(tool)
            assert found, f"no {tool} on this machine"
            (folder / tool).symlink_to(found)
        shutil.copy(SCRIPT, folder / "install-test-deps")
        (folder / "install-test-deps").chmod(0o755)
        executable(folder / "apt-get", FAKE_APT_GET)
        yield folder


def run(machine: Path, *needs: str, as_user: list[str] | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": str(machine), "HOME": str(machine)}
    return subprocess.run(
        [*(as_user or []), str(machine / "install-test-deps"), *needs],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )


def log(machine: Path, name: str) -> list[str]:
    path = machine / name
    return path.read_text().splitlines() if path.exists() else []


def test_nothing_is_installed_when_nothing_is_missing(machine):
    executable(machine / "make", "#!/bin/bash\n")

    done = run(machine, "make")

    assert (done.returncode, done.stderr) == (0, "")
    assert log(machine, "apt.log") == []


def test_a_missing_package_is_installed_after_one_update(machine):
    if os.geteuid() != 0:
        executable(machine / "sudo", FAKE_SUDO)

    done = run(machine, "make")

    assert done.returncode == 0, done.stderr
    assert "install-test-deps: installing make" in done.stderr
    assert log(machine, "apt.log") == [
        "update DEBIAN_FRONTEND=", "install -y make DEBIAN_FRONTEND=noninteractive",
    ]
    assert (machine / "make").exists()
    again = run(machine, "make")
    assert again.returncode == 0
    assert len(log(machine, "apt.log")) == 2


def test_without_root_or_sudo_it_prints_the_command_and_installs_nothing(machine):
    as_user = None
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("needs setpriv to run as another user")
        as_user = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]

    done = run(machine, "make", as_user=as_user)

    assert done.returncode == 1
    assert done.stderr == (
        "install-test-deps: the tests need make, which only root can install. Run as root:\n"
        "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y make\n"
    )
    assert log(machine, "apt.log") == []


def test_an_unknown_need_is_refused(machine):
    done = run(machine, "browser")

    assert done.returncode == 1
    assert done.stderr == (
        "install-test-deps: unknown need 'browser' (chromium, postgresql, make, python-venv)\n"
    )
