"""A served class in a subprocess, for the browser and HTTP tests."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PASSWORD = "instructor-test-pw"
CLASS_CODE = "TEST-CLASS-42"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServedClass:
    def __init__(self, sessions: Path, *options: str) -> None:
        self.sessions = sessions
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.options = options
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> ServedClass:
        env = {**os.environ, "DOCKER_TUTOR_INSTRUCTOR_PASSWORD": PASSWORD, "DOCKER_TUTOR_CLASS_CODE": CLASS_CODE}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tutor", "serve", "--port", str(self.port), "--sessions", str(self.sessions), *self.options],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError as exc:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    output = self.process.stdout.read() if self.process.stdout else ""
                    raise AssertionError(f"serve did not start: {output}") from exc
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)

    def learners(self) -> list[dict]:
        path = self.sessions / "learners.json"
        return json.loads(path.read_text())["learners"] if path.exists() else []

    def tutors(self) -> list[int]:
        """Pids of tutor processes started for this class's sessions (what `ps` would show)."""
        found = []
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                try:
                    argv = (proc / "cmdline").read_bytes().split(b"\0")
                except OSError:
                    continue
                if b"--session" in argv and any(str(self.sessions).encode() in a for a in argv):
                    found.append(int(proc.name))
        return found


def basic_auth(password: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"instructor:{password}".encode()).decode()}


def wait_until(condition, what: str, seconds: float = 30):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {seconds} s")
