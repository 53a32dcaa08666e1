"""grade --engine A --engine B: a class spread over two real engines, a dead one dropped."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.classroom.helpers import run
from tests.content.test_lint_content import make_pack

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def second_engine() -> Iterator[str]:
    """A dockerd of the test's own, on its own socket and data root, with busybox loaded into it."""
    import docker

    dockerd = shutil.which("dockerd")
    if dockerd is None or os.geteuid() != 0:
        pytest.skip("a second engine needs dockerd and root")
    if shutil.which("ip") is None:
        pytest.skip("a second engine's own bridge needs the ip command")
    token = uuid.uuid4().hex[:8]
    name = f"docker-tutor-test-{token}"
    socket_path, data, execroot = f"/tmp/{name}.sock", Path(f"/var/lib/{name}"), Path(f"/var/run/{name}")
    # A bridge of its own: a dockerd started with --bridge none deletes the first engine's docker0.
    bridge = f"dt{token}"
    subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True)
    subprocess.run(["ip", "addr", "add", f"10.213.{int(token[:2], 16)}.1/24", "dev", bridge], check=True)
    subprocess.run(["ip", "link", "set", bridge, "up"], check=True)
    process = subprocess.Popen(
        [dockerd, "-H", f"unix://{socket_path}", "--data-root", str(data), "--exec-root", str(execroot),
         "--pidfile", f"/var/run/{name}.pid", "--bridge", bridge],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"unix://{socket_path}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                second = docker.DockerClient(base_url=url, timeout=10)
                second.ping()
                break
            except Exception:  # noqa: BLE001 - not up yet
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.skip("a second dockerd did not start on this machine")
                time.sleep(0.5)
        first = docker.from_env()
        second.api.load_image(b"".join(first.api.get_image("busybox:latest")))
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(execroot, ignore_errors=True)
        subprocess.run(["ip", "link", "del", bridge], check=False)


def test_a_class_is_spread_over_two_engines_and_a_dead_one_is_dropped(tmp_path: Path, second_engine: str) -> None:
    pack = make_pack(tmp_path)
    submissions = tmp_path / "class"
    for n in range(8):
        folder = submissions / f"learner{n}"
        folder.mkdir(parents=True)
        passing = n % 2 == 0
        dockerfile = 'CMD ["echo", "hello"]' if passing else "CMD echo hello"
        (folder / "Dockerfile").write_text(f"FROM busybox:latest\n# {n}\n{dockerfile}\n")
    default = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    dead = f"unix:///tmp/no-engine-{uuid.uuid4().hex[:6]}.sock"
    result = run(
        "--content-only", "--content", str(pack), "grade", "50-say-hello", str(submissions), "--jobs", "4",
        "--format", "json", "--engine", default, "--engine", second_engine, "--engine", dead,
    )
    data = json.loads(result.stdout)
    verdicts = {s["learner"]: s["passed"] for s in data["submissions"]}
    assert verdicts == {f"learner{n}": n % 2 == 0 for n in range(8)}, result.stderr
    used = Counter(s["engine"] for s in data["submissions"])
    assert used[default] >= 1 and used[second_engine] >= 1 and dead not in used
    assert f"engine {dead}: 0 graded; dropped: no engine answers at {dead}" in result.stderr
    assert f"engine {second_engine}: {used[second_engine]} graded" in result.stderr


def test_serve_spreads_learners_over_the_engines(tmp_path: Path, second_engine: str) -> None:
    import asyncio

    import aiohttp

    from tests.browser.served import ServedClass, wait_until

    default = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    served = ServedClass(tmp_path / "sessions", "--engine", default, "--engine", second_engine).start()

    def engines_of_tutors() -> list[str]:
        found = []
        for pid in served.tutors():
            try:
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            found += [e.decode().split("=", 1)[1] for e in environ if e.startswith(b"DOCKER_HOST=")]
        return sorted(found)

    async def scenario() -> None:
        tabs = []
        sessions = [aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) for _ in range(2)]
        try:
            for index, session in enumerate(sessions):
                async with session.post(f"{served.url}/join", data={"name": f"learner {index}"}, headers={"Origin": served.url}):
                    pass
                tabs.append(await session.ws_connect(f"{served.url.replace('http', 'ws')}/ws", headers={"Origin": served.url}))
            wait_until(lambda: len(engines_of_tutors()) == 2, "two tutors with an engine each")
            assert engines_of_tutors() == sorted([default, second_engine])
        finally:
            for tab in tabs:
                await tab.close()
            for session in sessions:
                await session.close()

    try:
        asyncio.run(scenario())
    finally:
        served.stop()
