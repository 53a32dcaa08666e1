"""The instructor's password a served class makes: shown once at the start, never in the server's log."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from tests.browser.served import basic_auth, free_port, wait_until


def _serve(sessions: Path, port: int) -> subprocess.Popen[str]:
    made = ("DOCKER_TUTOR_INSTRUCTOR_PASSWORD", "DOCKER_TUTOR_CLASS_CODE")
    env = {k: v for k, v in os.environ.items() if k not in made}
    return subprocess.Popen(
        [sys.executable, "-m", "tutor", "serve", "--port", str(port), "--sessions", str(sessions)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True,
    )


def _status(url: str, headers: dict[str, str]) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0  # not listening yet


def _stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.communicate(timeout=5)


def test_a_made_password_and_class_code_are_printed_once_with_the_url_and_never_logged(tmp_path: Path) -> None:
    sessions, port = tmp_path / "sessions", free_port()
    kept, url = sessions / "instructor-password", f"http://127.0.0.1:{port}/instructor"
    codes = []
    for start in ("made now", "kept from the first start"):
        process = _serve(sessions, port)
        try:
            wait_until(lambda: kept.is_file() and kept.read_text().strip(), "the password file")
            password = kept.read_text().strip()
            codes.append((sessions / "class-code").read_text().strip())
            wait_until(lambda pw=password: _status(url, basic_auth(pw)) == 200, f"the instructor page ({start})")
            assert _status(url, basic_auth("wrong-password")) == 401
        finally:
            out, err = _stop(process)
        assert out.count(password) == 1, (start, out)
        assert re.search(rf"instructor page: http://localhost:{port}/instructor\n\s+password: {re.escape(password)}\b", out), out
        assert password not in err, err  # the log (refusals, joins, engines) goes to stderr
        assert out.count(codes[-1]) == 1 and re.search(rf"class code: {codes[-1]}\b", out) and codes[-1] not in err, out
    assert codes[0] == codes[1] and re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", codes[0])  # a restart keeps it
