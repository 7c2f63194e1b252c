import signal
import subprocess

from tests.runtime.processes import KOPILKA, free_port, isolated_env, wait_for_http


def test_serve_collects_static_files_and_runs_gunicorn_until_sigterm(tmp_path):
    port = free_port()
    server = subprocess.Popen(
        [KOPILKA, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"],
        env=isolated_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        docs = wait_for_http(f"http://127.0.0.1:{port}/api/v1/docs")
        css = wait_for_http(f"http://127.0.0.1:{port}/static/admin/css/base.css")
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)

    assert docs.status_code == 200, output
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    assert (tmp_path / "static" / "admin" / "css" / "base.css").is_file()
    assert server.returncode == 0, output
    assert "gunicorn" in output.lower()
