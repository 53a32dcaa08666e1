"""grade/serve --engine A --engine B: every value found as a single --engine is (a context name,
unix://, tcp:// with TLS), the class spread over two real engines, a crashed one's work moved."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.classroom.helpers import assert_clear_failure, run
from tests.classroom.second_engine import SecondEngine
from tests.content.test_lint_content import make_pack

pytestmark = pytest.mark.docker
DEFAULT = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")


@pytest.fixture(scope="module")
def second_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecondEngine]:
    engine = SecondEngine(tmp_path_factory.mktemp("engine")).start()
    try:
        yield engine
    finally:
        engine.stop()


@pytest.fixture
def crashing_engine(tmp_path: Path) -> Iterator[SecondEngine]:
    """An engine of the test's own that the test kills (the module's one stays up for the others)."""
    engine = SecondEngine(tmp_path / "crashing").start()
    try:
        yield engine
    finally:
        engine.stop()


def tls_env(engine: SecondEngine) -> dict[str, str]:
    return {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(engine.certs)}


def class_of(root: Path, learners: int, slow: bool = False) -> Path:
    """Even learners pass (exec form), odd ones fail; each builds a layer of its own."""
    for n in range(learners):
        folder = root / f"learner{n}"
        folder.mkdir(parents=True)
        cmd = 'CMD ["echo", "hello"]' if n % 2 == 0 else "CMD echo hello"
        work = f"RUN echo {n} > /n{' && sleep 2' if slow else ''}"
        (folder / "Dockerfile").write_text(f"FROM busybox:latest\n{work}\n{cmd}\n")
    return root


def verdicts(data: dict) -> dict[str, bool]:
    return {s["learner"]: s["passed"] for s in data["submissions"]}


def test_a_context_name_a_url_and_a_dead_engine(tmp_path: Path, second_engine: SecondEngine) -> None:
    # The context a learner's `docker context create` makes: a TLS endpoint, its certificates copied into the store.
    config = tmp_path / "docker-config"
    c = second_engine.certs
    subprocess.run(
        ["docker", "context", "create", "classroom-b", "--docker",
         f"host={second_engine.tcp_url},ca={c / 'ca.pem'},cert={c / 'cert.pem'},key={c / 'key.pem'}"],
        check=True, capture_output=True, env={**os.environ, "DOCKER_CONFIG": str(config)},
    )
    dead = f"unix:///tmp/no-engine-{uuid.uuid4().hex[:6]}.sock"  # no socket there: refused at once, no timeout
    # As many learners as jobs: all start at once, and each engine that answers gets the least busy's share.
    result = run(
        "--content-only", "--content", str(make_pack(tmp_path)), "grade", "50-say-hello", str(class_of(tmp_path / "class", 4)),
        "--jobs", "4", "--format", "json", "--engine", DEFAULT, "--engine", "classroom-b", "--engine", dead,
        env={"DOCKER_CONFIG": str(config)},
    )
    data = json.loads(result.stdout)
    assert verdicts(data) == {f"learner{n}": n % 2 == 0 for n in range(4)}, result.stderr
    used = Counter(s["engine"] for s in data["submissions"])
    assert used[DEFAULT] >= 1 and used["classroom-b"] >= 1 and dead not in used, result.stderr
    assert f"engine {dead}: 0 graded; dropped: no engine answers at {dead}" in result.stderr
    assert f"engine classroom-b: {used['classroom-b']} graded" in result.stderr


def test_one_engine_named_twice_is_found_by_its_id_and_used_once(tmp_path: Path) -> None:
    # A context and the socket URL it points to, and a second path to the same socket: one engine.
    config, alias = tmp_path / "docker-config", tmp_path / "alias.sock"
    alias.symlink_to(DEFAULT.removeprefix("unix://"))
    subprocess.run(
        ["docker", "context", "create", "classroom-same", "--docker", f"host={DEFAULT}"],
        check=True, capture_output=True, env={**os.environ, "DOCKER_CONFIG": str(config)},
    )
    result = run(
        "--content-only", "--content", str(make_pack(tmp_path)), "grade", "50-say-hello", str(class_of(tmp_path / "class", 2)),
        "--format", "json", "--engine", "classroom-same", "--engine", DEFAULT, "--engine", f"unix://{alias}",
        env={"DOCKER_CONFIG": str(config)},
    )
    data = json.loads(result.stdout)
    assert verdicts(data) == {"learner0": True, "learner1": False}, result.stderr
    assert {s["engine"] for s in data["submissions"]} == {"classroom-same"}, result.stderr
    for other in (DEFAULT, f"unix://{alias}"):
        assert f"--engine classroom-same and --engine {other} are the same engine (ID " in result.stderr, result.stderr
    summary = [line for line in result.stderr.splitlines() if line.startswith("engine ")]
    assert len(summary) == 1 and summary[0].startswith("engine classroom-same: 2 graded"), result.stderr


def test_tcp_with_tls_from_the_environment(tmp_path: Path, second_engine: SecondEngine) -> None:
    pack, submissions = make_pack(tmp_path), class_of(tmp_path / "class", 2)
    args = ["--content-only", "--content", str(pack), "grade", "50-say-hello", str(submissions), "--format", "json", "--engine", second_engine.tcp_url]
    result = run(*args, env=tls_env(second_engine))
    assert verdicts(json.loads(result.stdout)) == {"learner0": True, "learner1": False}, result.stderr
    assert {s["engine"] for s in json.loads(result.stdout)["submissions"]} == {second_engine.tcp_url}
    # Without the client certificate the engine refuses the connection: said once, no traceback.
    refused = run(*args, env={"DOCKER_TLS_VERIFY": "", "DOCKER_CERT_PATH": ""})
    assert refused.returncode != 0 and "Traceback" not in refused.stderr, refused.stderr
    assert f"no engine answers at {second_engine.tcp_url}" in refused.stderr


def test_an_unknown_context_name_stops_grade_and_serve_before_any_work(tmp_path: Path) -> None:
    env = {"DOCKER_CONFIG": str(tmp_path / "empty-config")}
    for command in (["grade", "50-say-hello", str(class_of(tmp_path / "class", 1))], ["serve", "--port", "0"]):
        result = run("--content-only", "--content", str(make_pack(tmp_path / command[0])), *command, "--engine", DEFAULT, "--engine", "no-such-ctx", env=env)
        assert_clear_failure(result, 2, "there is no docker context named 'no-such-ctx'")


def test_a_crashed_engine_s_submissions_are_graded_on_the_other(tmp_path: Path, crashing_engine: SecondEngine) -> None:
    learners = 10
    grade = subprocess.Popen(
        [sys.executable, "-m", "tutor", "--content-only", "--content", str(make_pack(tmp_path)), "grade", "50-say-hello",
         str(class_of(tmp_path / "class", learners, slow=True)), "--jobs", "4", "--format", "json",
         "--engine", DEFAULT, "--engine", crashing_engine.url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert grade.stderr is not None
    progress = [grade.stderr.readline()]  # the first learner graded: both engines have builds under way
    crashing_engine.kill()
    out, rest = grade.communicate(timeout=300)
    stderr = progress[0] + rest
    data = json.loads(out)
    assert verdicts(data) == {f"learner{n}": n % 2 == 0 for n in range(learners)}, stderr
    used = Counter(s["engine"] for s in data["submissions"])
    assert used[DEFAULT] > learners / 2, used  # it took over the crashed engine's share
    lost = re.search(rf"engine {re.escape(crashing_engine.url)}: (\d+) graded(, [\d.]+ s each)?; dropped: (.*)", stderr)
    assert lost and int(lost[1]) == used[crashing_engine.url], stderr
    assert "lost; its work was graded on the others" in lost[3]
    assert all(not s["cause"] == "engine error" for s in data["submissions"]), stderr


def test_serve_places_tabs_by_load_and_moves_a_learner_off_a_crashed_engine(
    tmp_path: Path, crashing_engine: SecondEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    import aiohttp

    from tests.browser.served import CLASS_CODE, ServedClass, basic_auth, wait_until

    for name, value in tls_env(crashing_engine).items():
        monkeypatch.setenv(name, value)  # the tab processes inherit them, as the server's own --engine does
    served = ServedClass(tmp_path / "sessions", "--engine", DEFAULT, "--engine", crashing_engine.tcp_url).start()

    def engine_of_tabs() -> dict[str, str]:
        """learner's session folder -> the engine its tab process was given."""
        found = {}
        for pid in served.tutors():
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            engine = [e.decode().split("=", 1)[1] for e in environ if e.startswith(b"DOCKER_TUTOR_ENGINE=")]
            if engine:
                found[argv[argv.index(b"--session") + 1].decode()] = engine[0]
        return found

    async def scenario() -> None:
        ws_url = f"{served.url.replace('http', 'ws')}/ws"
        sessions = [aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) for _ in range(2)]
        tabs = []
        try:
            for index, session in enumerate(sessions):
                form = {"name": f"learner {index}", "code": CLASS_CODE}
                async with session.post(f"{served.url}/join", data=form, headers={"Origin": served.url}):
                    pass
                tabs.append(await session.ws_connect(ws_url, headers={"Origin": served.url}))
                await asyncio.sleep(0.5)
            placed = await asyncio.to_thread(wait_until, lambda: len(engine_of_tabs()) == 2 and engine_of_tabs(), "a tab per learner")
            assert sorted(placed.values()) == sorted([DEFAULT, crashing_engine.tcp_url])
            on_second = next(i for i, folder in enumerate(sorted(placed)) if placed[folder] == crashing_engine.tcp_url)
            crashing_engine.kill()
            # The learner on the crashed engine reloads: the new tab is on the engine that answers.
            await tabs[on_second].close()
            await asyncio.to_thread(wait_until, lambda: len(engine_of_tabs()) == 1, "the old tab closed")
            tabs[on_second] = await sessions[on_second].ws_connect(ws_url, headers={"Origin": served.url})
            moved = await asyncio.to_thread(wait_until, lambda: len(engine_of_tabs()) == 2 and engine_of_tabs(), "the new tab")
            assert set(moved.values()) == {DEFAULT}, moved
            async with sessions[0].get(f"{served.url}/instructor", headers=basic_auth()) as page:
                assert f"{crashing_engine.tcp_url} 0 (not answering)" in await page.text()
        finally:
            for tab in tabs:
                await tab.close()
            for session in sessions:
                await session.close()

    try:
        asyncio.run(scenario())
    finally:
        served.stop()


def test_a_tab_whose_engine_stopped_tells_the_learner_to_reload(tmp_path: Path) -> None:
    dead = f"unix:///tmp/no-engine-{uuid.uuid4().hex[:6]}.sock"
    result = run(
        "--content-only", "--content", str(make_pack(tmp_path)), "check", "50-say-hello", "--solution",
        env={"DOCKER_TUTOR_ENGINE": dead, "DOCKER_TUTOR_CLASS_TAB": "1"},
    )
    assert_clear_failure(result, result.returncode or 1, "reload the page to continue on another of the class's engines")
