"""The served class in a real headless Chromium: join under a name, pass a check, reload, restart."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.served import CLASS_CODE, ServedClass, basic_auth, wait_until
from tutor import locations

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="no chromium on this machine"),
]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedClass]:
    server = ServedClass(tmp_path / "sessions").start()
    yield server
    server.stop()


def _status(session: Path, exercise: str) -> str | None:
    return _progress(session).get("exercises", {}).get(exercise, {}).get("status")


def _progress(session: Path) -> dict:
    path = session / "data" / "progress.json"
    return json.loads(path.read_text()) if path.exists() else {}


class _Screen:
    """When the served terminal last drew: it draws on a canvas, so the test watches its websocket."""

    def __init__(self, page) -> None:  # type: ignore[no-untyped-def]
        self.page = page
        self.last_frame = 0.0
        self.frames = 0
        page.on("websocket", lambda ws: ws.on("framereceived", self._drawn))

    def _drawn(self, _payload: object) -> None:
        self.frames += 1
        self.last_frame = time.monotonic()

    def settled(self, quiet: float = 1.5, seconds: float = 60) -> None:
        """The tutor has drawn its screen and stopped drawing (it is waiting for a key)."""
        deadline = time.monotonic() + seconds
        # Playwright's sync API hands over events only while it is called: wait through it.
        while not (self.frames > 3 and time.monotonic() - self.last_frame > quiet):
            assert time.monotonic() < deadline, f"the screen did not settle within {seconds} s"
            self.page.wait_for_timeout(200)


def _open_tutor(page, screen: _Screen) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector("canvas", timeout=30_000)
    screen.settled()
    # Keys go to the terminal from the start, no click needed (a click might open a row).
    wait_until(lambda: page.evaluate("document.activeElement.className").startswith("xterm"), "terminal focus", 10)


def test_a_reload_and_a_restart_return_to_the_same_learner_with_their_progress(served: ServedClass, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": 1200, "height": 800})
        page = context.new_page()
        screen = _Screen(page)
        page.goto(served.url)
        page.fill("input[name=name]", "Ada Lovelace")
        page.fill("input[name=code]", CLASS_CODE)
        page.click("button[type=submit]")
        (learner,) = wait_until(served.learners, "Ada joining")
        session = served.sessions / learner["folder"]
        _open_tutor(page, screen)
        page.screenshot(path=str(tmp_path / "home.png"))
        page.keyboard.press("Enter")  # the first lesson
        wait_until(lambda: _progress(session).get("lessons"), "the lesson being opened")
        screen.settled()
        page.keyboard.press("x")  # its exercise
        workspace = wait_until(lambda: next((session / "workspace").iterdir(), None), "the exercise's workspace copy")
        solution = locations.content_root() / "exercises" / workspace.name / "solution"
        time.sleep(0.5)
        shutil.copytree(solution, workspace, dirs_exist_ok=True)  # the learner's correct answer
        screen.settled()
        page.keyboard.press("c")
        status = wait_until(  # opening the exercise made its entry ("not started"): wait for the check's verdict
            lambda: _status(session, workspace.name) if _status(session, workspace.name) != "not started" else None, "a check", 90
        )
        assert status == "passed"

        page.reload()  # the same learner, the same folder: no second session, no name asked
        screen.frames = 0
        _open_tutor(page, screen)
        assert page.locator("input[name=name]").count() == 0
        wait_until(lambda: len(served.tutors()) == 1, "the first tab's tutor ending and the reloaded one starting")
        second = context.new_page()  # another tab of the same browser: the same learner too
        second_screen = _Screen(second)
        second.goto(served.url)
        _open_tutor(second, second_screen)
        wait_until(lambda: len(served.tutors()) == 2, "a tutor for the second tab")
        assert all(f"--session {session}" in _cmdline(pid) for pid in served.tutors())
        second.close()

        served.stop()  # a server restart: the cookie still names Ada, her folder is still hers
        assert served.tutors() == []
        served.start()
        screen.frames = 0
        page.reload()
        _open_tutor(page, screen)
        page.screenshot(path=str(tmp_path / "after-restart.png"))
        assert [x["name"] for x in served.learners()] == ["Ada Lovelace"]
        assert sorted(p.name for p in served.sessions.glob("session-*")) == [learner["folder"]]
        assert _progress(session)["exercises"][workspace.name]["status"] == "passed"
        wait_until(served.tutors, "a tutor after the restart")

        # The instructor sees her progress live and exports it in one file that `report` reads.
        instructor = browser.new_context(http_credentials={"username": "instructor", "password": "instructor-test-pw"})
        listing = instructor.new_page()
        listing.goto(f"{served.url}/instructor")
        assert "Ada Lovelace" in listing.content() and "1/" in listing.inner_text("table")
        browser.close()
    import urllib.request

    request = urllib.request.Request(f"{served.url}/instructor/export.json", headers=basic_auth())
    exported = tmp_path / "class.json"
    exported.write_bytes(urllib.request.urlopen(request, timeout=10).read())
    report = subprocess.run(
        [sys.executable, "-m", "tutor", "report", str(exported)], capture_output=True, text=True, timeout=30
    )
    assert report.returncode == 0, report.stderr
    assert "1 learner: Ada Lovelace" in report.stdout and workspace.name in report.stdout


def _cmdline(pid: int) -> str:
    return " ".join(Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0"))


def test_port_in_use_is_a_clear_error() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "tutor", "serve", "--port", str(port)], capture_output=True, text=True, timeout=30
        )
    assert result.returncode == 2
    assert f"cannot serve on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr
