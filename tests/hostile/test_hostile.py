"""Untrusted Dockerfiles and containers: each ends in bounded time with a specific message, and
nothing the check made is left behind. The figures are summarised in tests/hostile/README.md."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import docker.errors
import pytest

from tests.engine.helpers import context, exercise, grade_all
from tutor.content.model import BuildSettings
from tutor.engine.dockerhost import SESSION_ID, SESSION_LABEL
from tutor.engine.grader import Grading, grade

pytestmark = pytest.mark.docker


def leftovers(host) -> list[str]:
    return [c["Id"] for c in host.api.containers(all=True, filters={"label": f"{SESSION_LABEL}={SESSION_ID}"})]


def build_fails(host, tmp_path: Path, files: dict, *, timeout: float = 60, memory_mb: int = 256):
    report = grade_all(host, tmp_path / "ctx", [{"kind": "user"}], files, build=BuildSettings(timeout=timeout, memory_mb=memory_mb))
    assert not report.build.ok
    assert report.checks[0].skipped
    return report.build


@pytest.mark.parametrize(
    "content,message",
    [
        (b"", "empty"),
        (b"\x00\x01\x02binary", "binary"),
        ("\u00e9".encode("latin-1"), "not UTF-8"),
        (b"FORM busybox\n", "unknown instruction FORM.*did you mean FROM"),
        (b"RUN echo hi\n", "before the first FROM"),
    ],
    ids=["empty", "binary", "latin-1", "typo", "no-from"],
)
def test_unreadable_dockerfiles_are_refused_before_the_engine(tmp_path: Path, content: bytes, message: str) -> None:
    folder = context(tmp_path / "ctx", {"Dockerfile": content})

    def no_engine():
        raise AssertionError("must not reach the engine")

    report = grade(exercise([{"kind": "user"}]), folder, no_engine)
    assert not report.build.ok and re.search(message, report.build.error), report.build.error


def test_copy_of_a_missing_file_names_the_file(host, tmp_path: Path, builder: str) -> None:
    build = build_fails(host, tmp_path, {"Dockerfile": "FROM busybox\nCOPY weights.pt /\n"})
    assert "weights.pt" in build.error and "exercise folder" in build.hint


def test_base_image_that_is_not_on_the_engine(host, tmp_path: Path, builder: str) -> None:
    # A pack whose solution declares the image (so a build may use it), on a machine without it:
    # refused before the build, as the tutor never makes the engine pull (tutor/engine/local_images.py).
    pack_exercise = context(tmp_path / "pack" / "exercises" / "99-test", {"exercise.toml": "", "solution/Dockerfile": "FROM docker-tutor-no-such-image:0.0\n"})
    folder = context(tmp_path / "ctx", {"Dockerfile": "FROM docker-tutor-no-such-image:0.0\n"})
    started = time.monotonic()
    report = grade(exercise([{"kind": "user"}], path=pack_exercise), folder, lambda: host, grading=Grading(keep_image=False))
    build = report.build
    assert not build.ok
    assert time.monotonic() - started < 60
    assert "line 1: FROM docker-tutor-no-such-image:0.0" in build.error and "not on this engine" in build.error
    assert "docker pull" in build.hint


def test_hanging_run_step_is_cut_at_the_build_deadline(host, tmp_path: Path, builder: str) -> None:
    started = time.monotonic()
    nonce = str(time.time_ns())
    build = build_fails(host, tmp_path, {"Dockerfile": f"FROM busybox\nRUN echo {nonce} && sleep 600\n"}, timeout=3)
    assert time.monotonic() - started < 10
    assert "did not finish within 3 s" in build.error
    assert not leftovers(host)
    time.sleep(0.5)
    assert not _step_containers(host, nonce)


def test_cancelled_build_stops_at_once(host, tmp_path: Path, builder: str) -> None:
    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    nonce = str(time.time_ns())
    folder = context(tmp_path / "ctx", {"Dockerfile": f"FROM busybox\nRUN echo {nonce} && sleep 600\n"})
    started = time.monotonic()
    report = grade(exercise([{"kind": "user"}]), folder, lambda: host, cancel=cancel)
    assert time.monotonic() - started < 5
    assert report.build.error == "the build was cancelled"
    deadline = time.monotonic() + 5  # no step left running: the engine cancels the solve
    while _step_containers(host, nonce) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _step_containers(host, nonce)


def test_memory_bomb_in_a_build_step_is_killed(host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # BuildKit through the engine API takes no memory limit: this is the classic builder's
    # guarantee, which is why `serve` and `grade` build with it.
    monkeypatch.setenv("DOCKER_TUTOR_BUILDER", "classic")
    build = build_fails(host, tmp_path, {"Dockerfile": "FROM busybox\nRUN head -c 400m /dev/zero | tail > /dev/null\n"}, memory_mb=64)
    assert "137" in build.error and "memory" in build.hint


def test_build_output_flood_is_bounded(host, tmp_path: Path, builder: str) -> None:
    files = {"Dockerfile": "FROM busybox\nRUN yes 'flood line' | head -n 300000\n"}
    report = grade_all(host, tmp_path / "ctx", [{"kind": "user"}], files)
    assert report.build.ok and len(report.build.log_tail) <= 20


def test_symlink_out_of_the_context_is_refused(tmp_path: Path) -> None:
    folder = context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nCOPY . /\n"})
    os.symlink("/etc/passwd", folder / "passwd")
    report = grade(exercise([{"kind": "user"}]), folder, lambda: pytest.fail("must not reach the engine"))
    assert not report.build.ok and "passwd is a symbolic link" in report.build.error


def test_huge_context_is_refused_early_with_its_size(tmp_path: Path) -> None:
    folder = context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\n"})
    with open(folder / "dataset.bin", "wb") as sparse:
        sparse.truncate(10 * 2**30)  # 10 GB, sparse: no disk used
    started = time.monotonic()
    report = grade(exercise([{"kind": "user"}]), folder, lambda: pytest.fail("must not reach the engine"))
    assert time.monotonic() - started < 2
    assert "10240 MB" in report.build.error and ".dockerignore" in report.build.hint


def command(host, tmp_path: Path, dockerfile: str, **fields):
    report = grade_all(host, tmp_path / "ctx", [{"kind": "command", **fields}], {"Dockerfile": dockerfile})
    assert report.build.ok, report.build.error
    assert not leftovers(host)
    return report.checks[0]


def test_container_that_sleeps_forever_is_stopped(host, tmp_path: Path) -> None:
    started = time.monotonic()
    result = command(host, tmp_path, 'FROM busybox\nCMD ["sleep", "600"]\n', timeout=2)
    assert time.monotonic() - started < 10 and "still running after 2 s" in result.message


def test_container_that_floods_output_is_bounded_and_sanitised(host, tmp_path: Path) -> None:
    flood = 'FROM busybox\nCMD ["sh", "-c", "printf \'\\\\033[2J\\\\033]0;pwned\\\\007\\\\377\\\\n\'; yes flood | head -c 20000000; exit 1"]\n'
    result = command(host, tmp_path, flood, timeout=30)
    assert not result.passed
    assert len(result.message) < 2000
    assert "\x1b" not in result.message and "\x07" not in result.message


def test_fork_bomb_in_a_container_hits_the_pid_limit(host, tmp_path: Path) -> None:
    bomb = 'FROM busybox\nCMD ["sh", "-c", "for i in $(seq 1 400); do sleep 30 & done; echo spawned"]\n'
    started = time.monotonic()
    result = command(host, tmp_path, bomb, timeout=10, expectedOutput=["spawned"])
    assert time.monotonic() - started < 20
    assert not result.passed and ("can't fork" in result.message or "Resource" in result.message or "still running" in result.message)


def test_memory_bomb_in_a_container_is_killed(host, tmp_path: Path) -> None:
    bomb = 'FROM python:3.11-slim\nCMD ["python", "-c", "x = bytearray(2 * 1024**3)"]\n'
    result = command(host, tmp_path, bomb, timeout=30)
    assert not result.passed and ("out of memory" in result.message or "MemoryError" in result.message or "137" in result.message)


def test_learner_container_privileges(host, tmp_path: Path) -> None:
    result = command(
        host, tmp_path, "FROM busybox\n", command="cat", args=["/proc/self/status"],
        expectedOutput=[r"CapEff:\s+0000000000000000", r"NoNewPrivs:\s+1", r"Seccomp:\s+2"],
    )
    assert result.passed, result.message
    offline = command(host, tmp_path / "net", "FROM busybox\n", command="ip", args=["-o", "link"], excludedOutput=["eth0"])
    assert offline.passed, offline.message


def test_containers_of_a_killed_tutor_are_swept_on_next_start(host) -> None:
    from tutor.engine.dockerhost import HOST_LABEL, MANAGED_LABEL, _process_space

    dead_pid = 2**22 + 12345  # above the default pid_max: no such process
    container = host.client.containers.create(
        "busybox", ["sleep", "60"], labels={MANAGED_LABEL: "true", SESSION_LABEL: f"{dead_pid}-x", HOST_LABEL: _process_space()}
    )
    assert host.sweep_orphans() >= 1
    assert container.id not in [c["Id"] for c in host.api.containers(all=True)]


def test_build_steps_have_no_network(host, tmp_path: Path, builder: str) -> None:
    report = grade_all(
        host, tmp_path / "ctx",
        [{"kind": "file", "path": "/links", "excludedContents": ["eth0"]}],
        {"Dockerfile": f"FROM busybox\nRUN echo {time.time()} && ip -o link > /links\n"},
    )
    assert report.build.ok and report.checks[0].passed, report.checks[0].message


def _sleeping_build_process(tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    marker = f"sleep 60{int(time.time() * 1000) % 1000:03d}"
    folder = context(tmp_path / "ctx", {"Dockerfile": f"FROM busybox\nRUN {marker}\n"})
    process = subprocess.Popen(
        [sys.executable, "-m", "tutor", "check", "04-first-dockerfile", "--dir", str(folder)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    return process, marker


def _step_containers(host, marker: str) -> list[str]:
    """The build step still running: a classic step container, or (BuildKit's steps are no
    engine containers) a process on this machine, where the engine runs its steps."""
    containers = [c["Id"] for c in host.api.containers(all=True) if marker in c.get("Command", "")]
    return containers + _processes(marker)


def _processes(marker: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                found.append(entry.name)
        except OSError:
            continue
    return found


def _wait_for_step(host, marker: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while not _step_containers(host, marker):
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "the build step never started"
        time.sleep(0.2)


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["ctrl-c", "sigterm", "kill-9"])
def test_interrupted_tutor_leaves_no_build_container(host, tmp_path: Path, builder: str, how: signal.Signals) -> None:
    process, marker = _sleeping_build_process(tmp_path)
    _wait_for_step(host, marker, process)
    process.send_signal(how)
    _, stderr = process.communicate(timeout=20)
    if how != signal.SIGKILL:
        assert process.returncode == 130 and "interrupted" in stderr and "Traceback" not in stderr
    deadline = time.monotonic() + 10  # after kill -9 the engine notices the closed connection itself
    while _step_containers(host, marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _step_containers(host, marker)


def test_engine_that_stops_mid_build_is_exit_3_and_progress_survives(host, tmp_path: Path) -> None:
    from tests.hostile.engine_proxy import EngineProxy

    proxy = EngineProxy(tmp_path / "engine.sock")
    marker = f"sleep 70{time.time_ns() % 1000:03d}"
    folder = context(tmp_path / "ctx", {"Dockerfile": f"FROM busybox\nRUN {marker}\n"})
    env = {**os.environ, "DOCKER_HOST": f"unix://{proxy.path}"}
    progress = Path(os.environ["DOCKER_TUTOR_DATA"]) / "progress.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "tutor", "check", "04-first-dockerfile", "--dir", str(folder)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    _wait_for_step(host, marker, process)
    proxy.stop()
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 3, stderr
    assert "No Docker engine answers" in stderr and "Traceback" not in stderr
    assert not progress.exists() or json.loads(progress.read_text())  # never half-written
    deadline = time.monotonic() + 10  # the real engine saw the connection close and cancels the step
    while _step_containers(host, marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _step_containers(host, marker)


def test_engine_that_stops_while_a_container_runs_is_exit_3(host, tmp_path: Path) -> None:
    from tests.hostile.engine_proxy import EngineProxy

    proxy = EngineProxy(tmp_path / "engine.sock")
    pack = tmp_path / "pack"
    (pack / "lessons").mkdir(parents=True)
    (pack / "lessons" / "90-t.md").write_text('+++\ntitle = "t"\n+++\n')
    exercise_dir = pack / "exercises" / "90-sleeper"
    for sub in ("starter", "solution"):
        context(exercise_dir / sub, {"Dockerfile": f'FROM busybox\nCMD ["sleep", "7{time.time_ns() % 1000:03d}"]\n'})
    (exercise_dir / "exercise.toml").write_text(
        'title = "t"\nlesson = "90-t"\ntask = "t"\n[[checks]]\nkind = "command"\ntimeout = 60\n'
    )
    env = {**os.environ, "DOCKER_HOST": f"unix://{proxy.path}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "tutor", "--content", str(pack), "check", "90-sleeper", "--solution"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    deadline = time.monotonic() + 30
    while not host.api.containers(filters={"label": "org.docker-tutor.exercise=90-sleeper"}):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.2)
    proxy.stop()
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 3 and "No Docker engine answers" in stderr, stderr
    for container in host.api.containers(all=True, filters={"label": "org.docker-tutor.exercise=90-sleeper"}):
        # The engine came back: the dead tutor's container is what the next tutor to start sweeps,
        # and one may have started meanwhile (any test's).
        with contextlib.suppress(docker.errors.NotFound):
            host.api.remove_container(container["Id"], force=True)


def test_fork_bomb_in_a_build_step_ends_and_the_engine_stays_responsive(host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_TUTOR_BUILDER", "classic")  # see the memory bomb above
    # The classic builder's steps share a process limit where the engine allows one (cgroup v1 with
    # cgroupfs); elsewhere the build's memory limit and deadline must end a fork bomb.
    latencies: list[float] = []
    done = threading.Event()

    def probe() -> None:
        while not done.is_set():
            started = time.monotonic()
            host.api.ping()
            latencies.append(time.monotonic() - started)
            time.sleep(0.05)

    threading.Thread(target=probe, daemon=True).start()
    nonce = time.time_ns()
    started = time.monotonic()
    build = build_fails(
        host, tmp_path, {"Dockerfile": f"FROM busybox\nRUN echo {nonce} && bomb() {{ bomb | bomb & }}; bomb; sleep 100\n"},
        timeout=20, memory_mb=256,
    )
    done.set()
    assert time.monotonic() - started < 25
    assert "more than 512 processes" in build.error or "137" in build.error or "did not finish" in build.error
    assert max(latencies) < 2.0, max(latencies)
    assert not [c for c in host.api.containers(all=True) if str(nonce) in c.get("Command", "")]
