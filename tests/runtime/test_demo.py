import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from kopilka.customers.models import Member
from kopilka.runtime.management.commands import demo
from tests.core.marks import transactional_db


@pytest.fixture
def demo_run(monkeypatch):
    """`demo` with its children and the seed command recorded instead of run."""
    record = {"children": [], "seed": []}

    def supervise(commands):
        record["children"].append(commands)
        return 0

    real_call_command = demo.call_command

    def call_command_recording_seed(name, *args, **options):
        if name == "seed":
            record["seed"].append(options)
            Member.objects.create(registered_at=timezone.now())
            return None
        return real_call_command(name, *args, **options)

    monkeypatch.setattr(demo, "supervise", supervise)
    monkeypatch.setattr(demo, "call_command", call_command_recording_seed)
    return record


@transactional_db
def test_first_start_seeds_creates_the_admin_prints_its_password_and_starts_server_and_worker(
    demo_run, capsys
):
    call_command("demo", port=8123, verbosity=0)
    out = capsys.readouterr().out

    assert len(demo_run["seed"]) == 1
    (password,) = [line.split(" / ")[1] for line in out.splitlines() if "Sign in:" in line]
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password(password)
    assert password not in admin.password
    assert "http://127.0.0.1:8123/admin/" in out and "http://127.0.0.1:8123/office/" in out
    assert "http://127.0.0.1:8123/api/v1/docs" in out
    ((serve, worker),) = demo_run["children"]
    assert serve[-4:] == ["kopilka.cli", "serve", "--bind", "127.0.0.1:8123"]
    assert worker[-2:] == ["kopilka.cli", "worker"]


@transactional_db
def test_later_starts_neither_seed_again_nor_show_or_change_the_password(demo_run, capsys):
    call_command("demo", verbosity=0)
    hashed = get_user_model().objects.get(username="admin").password
    capsys.readouterr()

    call_command("demo", host="0.0.0.0", port=8000, verbosity=0)
    out = capsys.readouterr().out

    assert len(demo_run["seed"]) == 1
    assert "admin (password printed at first start; reset with `kopilka changepassword admin`)" in out
    assert " / " not in out
    assert get_user_model().objects.get(username="admin").password == hashed
    assert "http://127.0.0.1:8000/admin/" in out
    assert demo_run["children"][1][0][-2:] == ["--bind", "0.0.0.0:8000"]


@transactional_db
def test_a_failing_child_makes_demo_exit_with_its_status(demo_run, monkeypatch):
    monkeypatch.setattr(demo, "supervise", lambda commands: 3)
    with pytest.raises(SystemExit) as exit_info:
        call_command("demo", verbosity=0)
    assert exit_info.value.code == 3


@pytest.mark.parametrize(
    ("host", "in_url"),
    [("127.0.0.1", "127.0.0.1"), ("0.0.0.0", "127.0.0.1"), ("::", "[::1]"), ("::1", "[::1]")],
)
def test_url_host(host, in_url):
    assert demo.url_host(host) == in_url


@transactional_db
def test_the_demo_without_a_key_makes_its_own_once_into_its_data_folder(demo_run, capsys, monkeypatch, settings,
                                                                       tmp_path):
    """A bare machine has no KOPILKA_SECRET_KEY: the demo writes a random key into its data folder (readable by its
    owner only), which the server and worker it starts then read; a later start keeps it."""
    import stat

    from kopilka.core import secret_key

    monkeypatch.delenv("KOPILKA_SECRET_KEY")
    settings.DATA_DIR = tmp_path
    call_command("demo", verbosity=0)
    made = tmp_path / secret_key.FILE_NAME
    key = made.read_text(encoding="utf-8").strip()
    assert secret_key.weakness(key) is None and stat.S_IMODE(made.stat().st_mode) == 0o600
    assert secret_key.read(tmp_path) == key
    call_command("demo", verbosity=0)
    assert made.read_text(encoding="utf-8").strip() == key
