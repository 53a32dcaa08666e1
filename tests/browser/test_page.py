"""The tutor's page in a real headless Chromium: keys reach the tutor at once, nothing is fetched
from the internet, and the tab has an icon."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.served import CLASS_CODE, ServedClass, wait_until

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


def test_the_terminal_has_the_keys_on_load_and_the_page_stays_offline(served: ServedClass, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1000, "height": 700})
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(served.url)
        page.fill("input[name=name]", "Grace Hopper")
        page.fill("input[name=code]", CLASS_CODE)
        page.click("button[type=submit]")
        page.wait_for_selector("canvas", timeout=20_000)
        wait_until(lambda: page.evaluate("document.activeElement.className").startswith("xterm"), "terminal focus", 10)
        time.sleep(2)  # let the home screen paint
        icon = page.evaluate("document.querySelector('link[rel=icon]').href")
        (learner,) = served.learners()
        progress = served.sessions / learner["folder"] / "data" / "progress.json"
        page.keyboard.press("Enter")  # no click first: the key reaches the tutor and opens lesson 01
        wait_until(lambda: progress.exists() and json.loads(progress.read_text()).get("lessons"), "lesson 01 opened")
        time.sleep(1)
        page.screenshot(path=str(tmp_path / "lesson.png"))
        browser.close()
    assert icon.startswith("data:image/svg+xml")
    local = (served.url, served.url.replace("http:", "ws:"), "data:")
    assert requested and all(url.startswith(local) for url in requested), [u for u in requested if not u.startswith(local)]
