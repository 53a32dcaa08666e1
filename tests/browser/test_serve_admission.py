"""Joining a served class takes the class code, and one address takes new names at a bounded rate."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.browser.served import CLASS_CODE, ServedClass
from tutor.served.admission import ClassCode, JoinRate, class_code, client_key


@pytest.fixture
def served(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ServedClass]:
    server = ServedClass(tmp_path / "sessions", *getattr(request, "param", ())).start()
    yield server
    server.stop()


def _browser(source: str = "127.0.0.1") -> aiohttp.ClientSession:
    """A learner's browser; source: the client address the server sees (any of 127.0.0.0/8)."""
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True))


async def _join(browser: aiohttp.ClientSession, url: str, name: str, code: str = CLASS_CODE) -> tuple[int, str, dict]:
    async with browser.post(
        f"{url}/join", data={"name": name, "code": code}, headers={"Origin": url}, allow_redirects=False
    ) as response:
        return response.status, await response.text(), dict(response.headers)


def _output(served: ServedClass) -> str:
    served.stop()
    return served.process.stdout.read() if served.process and served.process.stdout else ""


def test_a_wrong_or_missing_code_starts_nothing_and_is_never_logged(served: ServedClass) -> None:
    async def scenario() -> None:
        async with _browser() as eve:
            for code in ("", "NOT-THE-CODE-7", CLASS_CODE + "x"):
                status, page, _ = await _join(eve, served.url, "Eve", code)
                assert status == 403, page
                assert ("That is not this class" if code else "Give the class code") in page
                assert "Your instructor has it" in page
                assert not code or code not in page  # a wrong code is not shown back
            assert served.learners() == [] and list(served.sessions.glob("session-*")) == []
            async with eve.get(f"{served.url}/") as front:  # no cookie was set: still the join form
                assert "Class code" in await front.text()
            # Case, spaces and dashes do not matter to a person copying the code off a board.
            status, _, _ = await _join(eve, served.url, "Eve", " test class42 ")
            assert status == 303 and [x["name"] for x in served.learners()] == ["Eve"]
        assert served.tutors() == []

    asyncio.run(scenario())
    output = _output(served)
    assert "wrong class code" in output and CLASS_CODE not in output and "NOT-THE-CODE" not in output, output


@pytest.mark.parametrize("served", [("--joins-at-once", "3", "--joins-per-minute", "60")], indirect=True)
def test_one_address_takes_new_names_at_a_bounded_rate_and_returning_learners_are_let_in(served: ServedClass) -> None:
    async def scenario() -> None:
        browsers = [_browser() for _ in range(5)]
        try:
            assert (await _join(browsers[0], served.url, "Ada", "wrong-code"))[0] == 403  # a guess costs a join
            for index in (1, 2):
                assert (await _join(browsers[index], served.url, f"Learner {index}"))[0] == 303
            status, page, headers = await _join(browsers[3], served.url, "Script 3")
            assert status == 429 and headers["Retry-After"] == "1", (status, page)
            assert "Too many new names from your network address" in page and "--joins-at-once N" in page
            assert 'value="Script 3"' in page  # the form keeps what was typed
            assert len(served.learners()) == 2
            # A learner who joined comes back (a reload) without a code and without a join.
            async with browsers[1].get(f"{served.url}/") as front:
                assert front.status == 200 and "Class code" not in await front.text()
            # Another address has its own bucket.
            async with _browser("127.0.0.2") as elsewhere:
                assert (await _join(elsewhere, served.url, "Grace"))[0] == 303
            await asyncio.sleep(1.1)  # one join a second comes back
            assert (await _join(browsers[3], served.url, "Script 3"))[0] == 303
            assert (await _join(browsers[4], served.url, "Script 4"))[0] == 429
        finally:
            for browser in browsers:
                await browser.close()

    asyncio.run(scenario())


def test_the_defaults_let_a_class_of_thirty_behind_one_address_join_at_once(served: ServedClass) -> None:
    async def scenario() -> None:
        async with _browser() as nat:
            for index in range(30):
                nat.cookie_jar.clear()
                status, page, _ = await _join(nat, served.url, f"Learner {index}")
                assert status == 303, (index, page)
            nat.cookie_jar.clear()
            assert (await _join(nat, served.url, "Learner 30"))[0] == 429  # the 31st at the same moment waits

    asyncio.run(scenario())
    assert len(served.learners()) == 30


def test_the_code_is_compared_whole_and_made_codes_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = ClassCode("Docker-Class-2026", "given")
    assert code.matches("docker class 2026") and code.matches("DOCKERCLASS2026")
    assert not code.matches("Docker-Class-202") and not code.matches("") and not code.matches("Docker-Class-20266")
    monkeypatch.delenv("DOCKER_TUTOR_CLASS_CODE", raising=False)
    made = class_code(tmp_path, None)
    assert made.made and made.value in made.banner() and (tmp_path / "class-code").stat().st_mode & 0o077 == 0
    assert class_code(tmp_path, None).value == made.value  # a restart keeps the code the class was given
    monkeypatch.setenv("DOCKER_TUTOR_CLASS_CODE", "short")
    with pytest.raises(Exception, match="shorter than 6"):
        class_code(tmp_path, None)


def test_the_join_rate_bucket() -> None:
    rate = JoinRate(at_once=2, per_minute=6)  # one every 10 s after two
    assert rate.wait("a", 0) == 0
    rate.take("a", 0)
    rate.take("a", 0)
    assert rate.wait("a", 0) == 10 and rate.wait("a", 5) == 5 and rate.wait("a", 10) == 0
    assert rate.wait("b", 0) == 0
    assert client_key("2001:db8::1") == client_key("2001:db8::ffff") == "2001:db8::/64"
    assert client_key("::ffff:10.0.0.5") == "10.0.0.5"


def test_a_class_code_too_short_stops_serve_at_its_start(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.browser.served import free_port

    result = subprocess.run(
        [sys.executable, "-m", "tutor", "serve", "--port", str(free_port()), "--sessions", str(tmp_path), "--class-code", "ab-c"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2 and "the class code from --class-code is shorter than 6 characters" in result.stderr, result
    assert "Traceback" not in result.stderr and not (tmp_path / "class-code").exists()
