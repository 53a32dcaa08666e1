"""The tutor served to a real headless Chromium: see the curriculum, open a lesson, pass a check."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tutor import locations

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="no chromium on this machine"),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = _free_port()
    sessions = tmp_path / "sessions"
    server = subprocess.Popen(
        [sys.executable, "-m", "tutor", "serve", "--port", str(port), "--sessions", str(sessions)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, server.stderr.read() if server.stderr else ""
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}", sessions
    server.terminate()
    server.wait(10)


def _wait_until(condition, what: str, seconds: float = 30):
    """The served terminal draws on a canvas, so the test watches what the tab's tutor writes."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {seconds} s")


def _progress(sessions: Path) -> dict:
    files = list(sessions.glob("session-*/data/progress.json"))
    return json.loads(files[0].read_text()) if files else {}


def test_curriculum_lesson_and_a_passing_check_in_the_browser(served: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    url, sessions = served
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(url)
        session = _wait_until(lambda: next(sessions.glob("session-*"), None), "a tutor session for the tab")
        page.wait_for_selector("canvas", timeout=20_000)
        time.sleep(2)  # let the home screen paint
        page.screenshot(path=str(tmp_path / "home.png"))
        # Keys go to the terminal from the start: no click that might land on a row is needed.
        _wait_until(
            lambda: page.evaluate("document.activeElement && document.activeElement.className").find("xterm") >= 0,
            "the terminal having keyboard focus",
            10,
        )
        page.keyboard.press("Enter")  # the first lesson
        _wait_until(lambda: _progress(sessions).get("lessons"), "the lesson being opened")
        page.keyboard.press("x")  # its exercise
        workspace = _wait_until(lambda: next((session / "workspace").iterdir(), None), "the exercise's workspace copy")
        # Write the reference solution into the tab's own workspace, as the learner would.
        solution = locations.content_root() / "exercises" / workspace.name / "solution"
        time.sleep(0.5)
        shutil.copytree(solution, workspace, dirs_exist_ok=True)
        page.keyboard.press("c")
        status = _wait_until(
            lambda: _progress(sessions).get("exercises", {}).get(workspace.name, {}).get("status"), "a check", 90
        )
        time.sleep(0.5)
        page.screenshot(path=str(tmp_path / "checked.png"))
        browser.close()
    assert status == "passed"
    # Offline classrooms: the page asks nothing of the internet (no web font, no script).
    assert requested and all(u.startswith((url, "ws://127.0.0.1", "data:")) for u in requested), requested


def test_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "tutor", "serve", "--port", str(port)], capture_output=True, text=True, timeout=30
        )
    assert result.returncode == 2
    assert f"cannot serve on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr
