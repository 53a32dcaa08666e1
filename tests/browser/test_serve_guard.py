"""A served class's defences over plain HTTP and websockets: origins, names, limits, idle tabs, the instructor."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.browser.served import CLASS_CODE, PASSWORD, ServedClass, basic_auth, wait_until


@pytest.fixture
def served(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ServedClass]:
    options = getattr(request, "param", ())
    server = ServedClass(tmp_path / "sessions", *options).start()
    yield server
    server.stop()


async def _join(session: aiohttp.ClientSession, url: str, name: str, origin: str | None = None) -> aiohttp.ClientResponse:
    headers = {"Origin": origin or url}
    async with session.post(f"{url}/join", data={"name": name, "code": CLASS_CODE}, headers=headers, allow_redirects=False) as response:
        await response.read()
        return response


async def _tab(session: aiohttp.ClientSession, url: str, origin: str | None = None) -> aiohttp.ClientWebSocketResponse:
    headers = {"Origin": origin} if origin is not None else {}
    return await session.ws_connect(f"{url.replace('http', 'ws')}/ws?width=80&height=24", headers=headers)


async def _first_bytes(ws: aiohttp.ClientWebSocketResponse) -> bytes:
    async for message in ws:
        if message.type == aiohttp.WSMsgType.BINARY:
            return message.data
    return b""


def _learner() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def test_cross_origin_and_unknown_hosts_are_refused(served: ServedClass) -> None:
    async def scenario() -> None:
        async with _learner() as ada:
            response = await _join(ada, served.url, "Ada", origin="http://evil.example")
            assert response.status == 403 and served.learners() == []
            assert (await _join(ada, served.url, "Ada")).status == 303
            for origin in ("http://evil.example", f"http://localhost.evil.example:{served.port}", None):
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await _tab(ada, served.url, origin)
                assert refused.value.status == 403
            # A DNS name rebound to this machine: same "origin" as the host it names, still refused.
            async with ada.get(f"{served.url}/", headers={"Host": f"rebound.example:{served.port}"}) as response:
                assert response.status == 403 and "unknown host" in await response.text()
        assert served.tutors() == []

    asyncio.run(scenario())


def test_a_taken_name_is_refused_not_merged(served: ServedClass) -> None:
    async def scenario() -> None:
        async with _learner() as first, _learner() as second:
            assert (await _join(first, served.url, "Ada  Lovelace")).status == 303
            response = await _join(second, served.url, "ada lovelace")
            assert response.status == 409
            assert [x["name"] for x in served.learners()] == ["Ada Lovelace"]
            assert len(list(served.sessions.glob("session-*"))) == 1

    asyncio.run(scenario())


@pytest.mark.parametrize("served", [("--max-processes", "1", "--max-learners", "2")], indirect=True)
def test_limits_refuse_with_a_clear_message(served: ServedClass) -> None:
    async def scenario() -> None:
        async with _learner() as ada, _learner() as bob, _learner() as eve:
            await _join(ada, served.url, "Ada")
            await _join(bob, served.url, "Bob")
            response = await _join(eve, served.url, "Eve")
            assert response.status == 409 and len(served.learners()) == 2
            first = await _tab(ada, served.url, served.url)
            await _first_bytes(first)  # the tutor is drawing
            refused = await _tab(bob, served.url, served.url)
            assert b"The class server is full: 1 tutor running" in await _first_bytes(refused)
            async with bob.get(f"{served.url}/") as page:
                assert page.status == 503 and "--max-processes" in await page.text()
            assert len(served.tutors()) == 1
            await first.close()
        wait_until(lambda: served.tutors() == [], "the closed tab's tutor ending")

    asyncio.run(scenario())


@pytest.mark.parametrize("served", [("--idle-minutes", "0.05")], indirect=True)
def test_an_idle_tab_is_closed_and_its_work_kept(served: ServedClass) -> None:
    async def scenario() -> None:
        async with _learner() as ada:
            await _join(ada, served.url, "Ada")
            folder = served.sessions / served.learners()[0]["folder"]
            (folder / "workspace" / "notes.txt").write_text("mine")
            tab = await _tab(ada, served.url, served.url)
            await _first_bytes(tab)
            assert len(served.tutors()) == 1
            await asyncio.wait_for(_closed(tab), 30)  # closed by the server, not by us
        wait_until(lambda: served.tutors() == [], "the idle tab's tutor ending")
        assert (folder / "workspace" / "notes.txt").read_text() == "mine"

    asyncio.run(scenario())


async def _closed(ws: aiohttp.ClientWebSocketResponse) -> None:
    async for _ in ws:
        pass


def test_the_instructor_page_needs_the_password_and_exports_the_class(served: ServedClass) -> None:
    async def scenario() -> None:
        async with _learner() as ada, aiohttp.ClientSession() as visitor:
            await _join(ada, served.url, "Ada")
            for headers in ({}, basic_auth("wrong-password")):
                for path in ("/instructor", "/instructor/export.json"):
                    async with visitor.get(f"{served.url}{path}", headers=headers) as response:
                        assert response.status == 401
            # The learner's cookie is no instructor's password either.
            async with ada.get(f"{served.url}/instructor") as response:
                assert response.status == 401
            async with visitor.get(f"{served.url}/instructor/export.json", headers=basic_auth(PASSWORD)) as response:
                exported = json.loads(await response.text())
            assert [x["learner"] for x in exported] == ["Ada"]
            # Personal links: made by the instructor, they sign a learner in with no name typed.
            headers = {**basic_auth(PASSWORD), "Origin": served.url}
            async with visitor.post(f"{served.url}/instructor/learners", data={"names": "Bob\nCy"}, headers=headers) as response:
                assert response.status == 200 and "Bob" in await response.text()
            bob = next(x for x in served.learners() if x["name"] == "Bob")
            async with _learner() as bobs_browser:
                async with bobs_browser.get(f"{served.url}/join/{bob['token']}", allow_redirects=False) as response:
                    assert response.status == 303
                async with bobs_browser.get(f"{served.url}/") as response:
                    assert "docker-tutor: Bob" in await response.text()
            async with visitor.get(f"{served.url}/join/not-a-token", allow_redirects=False) as response:
                assert response.status == 404

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "rows",
    [[{"name": 5}], [{"name": "Ada", "token": "t", "folder": "../../elsewhere", "joined": 1.0}], "not a list"],
)
def test_a_broken_class_list_stops_serve_at_its_start_and_is_said_while_serving(tmp_path: Path, rows: object) -> None:
    """Before, every /join answered 500 with a traceback in the server's log."""
    import subprocess
    import sys

    sessions = tmp_path / "sessions"
    sessions.mkdir()
    (sessions / "learners.json").write_text(json.dumps({"version": 1, "learners": rows}))
    started = subprocess.run(
        [sys.executable, "-m", "tutor", "serve", "--port", "0", "--sessions", str(sessions)], capture_output=True, text=True, timeout=60
    )
    assert started.returncode == 2 and "learners.json" in started.stderr and "Traceback" not in started.stderr, started.stderr


@pytest.mark.parametrize("case", ["nested thousands deep", "a link", "a folder", "not UTF-8"])
def test_a_class_list_file_that_is_not_one_stops_serve_at_its_start(tmp_path: Path, case: str) -> None:
    import subprocess
    import sys

    sessions = tmp_path / "sessions"
    sessions.mkdir()
    listed = sessions / "learners.json"
    other = tmp_path / "another-class.json"
    other.write_text(json.dumps({"version": 1, "learners": []}))
    {
        "nested thousands deep": lambda: listed.write_text("[" * 200_000),
        "a link": lambda: listed.symlink_to(other),  # never another class's list, read or replaced
        "a folder": lambda: listed.mkdir(),
        "not UTF-8": lambda: listed.write_bytes(b"\xff\xfe{}"),
    }[case]()
    started = subprocess.run(
        [sys.executable, "-m", "tutor", "serve", "--port", "0", "--sessions", str(sessions)], capture_output=True, text=True, timeout=60
    )
    assert started.returncode == 2 and f"docker-tutor: {listed} is unreadable: " in started.stderr, started.stderr
    assert "Traceback" not in started.stderr and "move it aside" in started.stderr


def test_a_class_list_broken_while_serving_is_said_not_a_traceback(served: ServedClass) -> None:
    async def scenario() -> None:
        (served.sessions / "learners.json").write_text('{"version": 1, "learners": [{"name": 5}]}')
        async with _learner() as learner:
            async with learner.post(f"{served.url}/join", data={"name": "Ada", "code": CLASS_CODE}, headers={"Origin": served.url}) as response:
                page = await response.text()
                assert response.status == 503 and "class list cannot be read" in page
                assert str(served.sessions) not in page  # the server's folders are not the class's to read

    asyncio.run(scenario())
