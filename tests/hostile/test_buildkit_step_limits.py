"""BuildKit's build steps held to the build's process and memory limits by the step warden
(tutor/engine/builders/step_warden.py), on the real engine. The figures are in tests/hostile/README.md.

The forking steps here stop by themselves after 1,000 processes: an order over the limit the tests
set (64), and harmless on an engine without the warden, where they would fail these tests."""

from __future__ import annotations

import contextlib
import glob
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.engine.helpers import context, exercise
from tutor.content.model import BuildSettings, Curriculum
from tutor.engine.builders import limits
from tutor.engine.grader import Grading, grade
from tutor.engine.report import Report

pytestmark = pytest.mark.docker

PIDS = 64
STEPS = "/sys/fs/cgroup/pids/*/buildkit/*/"  # where Engine 20.10 puts BuildKit's step cgroups
_LOOP = "i=0; while [ $i -lt 1000 ]; do sleep 1000 & i=$((i+1)); done; wait"
# dash gives up when a fork is refused, saying so.
SHELL_FORKS = _LOOP
# bash says so and tries again, and again.
BASH_FORKS = f"bash -c '{_LOOP}'"
# Python keeps trying, silently, until it has 1,000.
_PYTHON_LOOP = (
    "import os, time\\nmade = 0\\nwhile made < 1000:\\n try:\\n  if os.fork() == 0:\\n   time.sleep(1000)\\n   os._exit(0)\\n"
    "  made += 1\\n except OSError:\\n  time.sleep(0.05)\\ntime.sleep(1000)"
)
PYTHON_FORKS = f"python3 -c \"exec('{_PYTHON_LOOP}')\""


@pytest.fixture(autouse=True)
def buildkit_held(host, monkeypatch: pytest.MonkeyPatch) -> None:
    from tutor.engine.builders.step_limits import supported

    if not supported(host) or not glob.glob("/sys/fs/cgroup/pids/"):
        pytest.skip("the warden needs cgroup v1 with the cgroupfs driver, and these tests the engine's machine")
    monkeypatch.setenv("DOCKER_TUTOR_BUILDER", "buildkit")
    monkeypatch.setenv("DOCKER_TUTOR_BUILD_PIDS", str(PIDS))


@dataclass
class Watch:
    """What the machine looked like while a build ran, sampled every 5 ms from outside."""

    # The most processes one held BuildKit step cgroup ran (others' steps on a shared engine, seen
    # before a warden started, are left out).
    step_peak: int = 0
    # The largest pids.max seen on a step: this run's (PIDS), or on a shared engine another tutor's
    # warden's (512 by default) while it runs, as wardens agree on the largest figure.
    largest_limit: int = 0
    steps_held: set[str] = field(default_factory=set)  # step cgroups seen with a pids.max
    wardens: set[str] = field(default_factory=set)  # this run's warden containers seen


    def held(self) -> bool:
        """Was every step held to its limit, a limit no larger than a tutor's default?"""
        return bool(self.steps_held) and self.step_peak <= self.largest_limit <= max(PIDS, _DEFAULT_PIDS)


_DEFAULT_PIDS = 512  # limits.build_pids() without DOCKER_TUTOR_BUILD_PIDS


@contextlib.contextmanager
def watched(host) -> Iterator[Watch]:
    from tutor.engine.dockerhost import SESSION_ID

    watch, stop = Watch(), threading.Event()

    def sample() -> None:
        next_look = 0.0
        while not stop.is_set():
            for step in glob.glob(STEPS):
                with contextlib.suppress(OSError, ValueError):
                    current = int(Path(step, "pids.current").read_text())
                    held = Path(step, "pids.max").read_text().strip()
                    if held != "max":
                        watch.step_peak = max(watch.step_peak, current)
                        watch.largest_limit = max(watch.largest_limit, int(held))
                        watch.steps_held.add(step)
            if time.monotonic() > next_look:
                next_look = time.monotonic() + 0.2
                watch.wardens |= set(_wardens(host, SESSION_ID))
            time.sleep(0.005)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield watch
    finally:
        stop.set()
        thread.join()


def _wardens(host, session: str) -> list[str]:
    """The warden containers of one tutor process: its label, and the engine's cgroups mounted."""
    found = host.api.containers(all=True, filters={"label": f"org.docker-tutor.session={session}"})
    return [c["Id"] for c in found if any(m.get("Destination") == "/host-cgroup" for m in c.get("Mounts") or [])]


def _build(host, folder: Path, *, timeout: float = 10, memory_mb: int = 1024, cancel: threading.Event | None = None) -> Report:
    settings = BuildSettings(timeout=timeout, memory_mb=memory_mb)
    return grade(exercise([{"kind": "user"}], build=settings), folder, lambda: host, grading=Grading(keep_image=False), cancel=cancel)


@pytest.mark.parametrize(
    "run", [SHELL_FORKS, BASH_FORKS, PYTHON_FORKS], ids=["dash-gives-up", "bash-keeps-retrying", "python-keeps-trying-silently"]
)
def test_a_buildkit_step_that_forks_is_held_to_the_process_limit(host, tmp_path: Path, run: str) -> None:
    from tutor.engine.dockerhost import SESSION_ID

    folder = context(tmp_path / "ctx", {"Dockerfile": f"FROM python:3.11-slim\nRUN echo {time.time_ns()}; {run}\n"})
    silent = run == PYTHON_FORKS
    started = time.monotonic()
    with watched(host) as watch:
        report = _build(host, folder, timeout=10 if silent else 120)
    took = time.monotonic() - started
    assert not report.build.ok
    assert watch.held(), f"a step ran {watch.step_peak} processes, held at {watch.largest_limit}"
    assert watch.wardens and not _wardens(host, SESSION_ID)
    if silent:  # held at the limit until the deadline; the warden saw its forks refused meanwhile
        assert "did not finish within 10 s" in report.build.error, report.build.error
        assert re.match(r"a build step tried to run more than \d+ processes at once", report.build.error), report.build.error
        assert took < 25, f"ended after {took:.0f} s"
    else:  # its own log says a fork was refused: stopped at once, the message names the limit
        assert f"more than {PIDS} processes at once" in report.build.error, report.build.error
        assert "processes without end" in report.build.hint
        assert took < 30, f"ended after {took:.0f} s"


def test_a_buildkit_step_that_gives_up_silently_at_the_limit_is_told_so(host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A shell whose fork is refused exits at once, here with its errors thrown away: nothing in the
    step's log says why. The warden saw the step's cgroup refuse a fork, and the message says so;
    the same step failing with no fork refused is not told it."""
    monkeypatch.delenv("DOCKER_TUTOR_BUILD_PIDS")  # the default figure, as a learner's build has it
    silent = "sh -c 'i=0; while [ $i -lt 1502 ]; do sleep 10 & i=$((i+1)); done 2>/dev/null; exit 2'"
    calm = "sh -c 'for i in 1 2 3; do sleep 0.2 & done; wait; exit 2'"
    reports = {}
    for name, run in (("silent", silent), ("calm", calm)):
        folder = context(tmp_path / name, {"Dockerfile": f"FROM python:3.11-slim\nRUN echo {time.time_ns()}; {run}\n"})
        with watched(host) as watch:
            reports[name] = _build(host, folder, timeout=60)
        assert watch.steps_held, "no BuildKit step was seen held"
    error = reports["silent"].build.error
    assert re.search(r"^a build step tried to run more than \d+ processes at once: the build step RUN .* exit code 2", error), error
    assert "processes without end" in reports["silent"].build.hint
    assert "exit code 2" in reports["calm"].build.error and "processes at once" not in reports["calm"].build.error


def test_a_buildkit_step_over_the_builds_memory_is_killed_and_told_so(host, tmp_path: Path) -> None:
    # The default figure: on a shared engine another tutor's warden may hold the steps meanwhile, and
    # wardens agree on the largest figure among them.
    run = "python3 -c \"s = 'a' * (1536 * 2**20); print(len(s))\""
    folder = context(tmp_path / "ctx", {"Dockerfile": f"FROM python:3.11-slim\nRUN echo {time.time_ns()}; {run}\n"})
    report = _build(host, folder, timeout=60, memory_mb=1024)
    assert not report.build.ok, "a step used 1.5 GB in a 1 GB build"
    assert "over the build's 1024 MB of memory" in report.build.error, report.build.error
    assert "exit code 137" in report.build.error and "out of memory" in report.build.hint


@pytest.mark.parametrize(
    ("script", "where"), [("busybox", "/big"), ("python:3.11-slim", "/c/big")], ids=["shell-its-layer", "python-a-cache-mount"]
)
def test_a_buildkit_step_over_the_disk_budget_is_stopped_and_told_so(
    host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str, where: str
) -> None:
    """fallocate takes 1.2 GB at once; the step would then give it back and pass (the image stays
    small) were it not stopped while it held it. The default budget: on a shared engine every warden
    holds every step, none below the default. Each of the warden's two scripts (the python image's
    where busybox is absent) is held to it."""
    from tutor.engine.builders import step_warden

    monkeypatch.setattr(step_warden, "_SCRIPTS", {script: step_warden._SCRIPTS[script]})
    run = f"fallocate -l 1200M {where} && sleep 30; rm -f {where}"
    folder = context(tmp_path / "ctx", {"Dockerfile": f"FROM python:3.11-slim\nRUN --mount=type=cache,target=/c echo {time.time_ns()}; {run}\n"})
    try:
        report = _build(host, folder, timeout=60)
        if where.startswith("/c/"):
            # The cache mount still holds the file, and counts in every step that mounts it: as the
            # hint says, a new id starts one empty (a step long enough for the warden to look at).
            (folder / "Dockerfile").write_text(f"FROM python:3.11-slim\nRUN --mount=type=cache,id=fresh,target=/c echo {time.time_ns()}; test ! -e /c/big && sleep 1\n")
            fresh = _build(host, folder, timeout=60)
            assert fresh.build.ok, fresh.build.error
    finally:
        # A cache mount keeps what its stopped step wrote: this folder's next build, which sees the
        # same cache mount, gives it back. Its warden would stop that step too, were it to look
        # before the file is gone (the mount holds 1.2 GB): the figure is raised for it.
        monkeypatch.setattr(limits, "buildkit_step_bytes", lambda: 4 * 10**9)
        (folder / "Dockerfile").write_text(f"FROM python:3.11-slim\nRUN --mount=type=cache,target=/c echo {time.time_ns()}; rm -f /c/big\n")
        assert _build(host, folder, timeout=60).build.ok
    assert not report.build.ok, "a step held 1.2 GB of disk and the build passed"
    assert re.match(r"a build step wrote 1\.\d GB, over the 1\.0 GB a BuildKit step may hold, and was stopped", report.build.error), report.build.error
    assert "more than an exercise's image may hold" in report.build.hint, report.build.hint
    assert "give it a new id" in report.build.hint, report.build.hint


def test_a_correct_06b_solution_passes_under_buildkit_held_by_a_warden(host, curriculum: Curriculum, monkeypatch: pytest.MonkeyPatch) -> None:
    from tutor.engine.dockerhost import SESSION_ID

    monkeypatch.setenv("DOCKER_TUTOR_SHARED_ENGINE", "1")  # as `grade` and `serve` build it
    monkeypatch.delenv("DOCKER_TUTOR_BUILDER")
    found = next(e for e in curriculum.exercises if e.id == "06b-pip-cache-mount")
    with watched(host) as watch:
        report = grade(found, found.solution_dir, lambda: host, grading=Grading(keep_image=False))
    assert report.build.ok and report.build.builder == "buildkit", report.build.error
    assert all(c.passed for c in report.checks), [c.message for c in report.checks if not c.passed]
    assert watch.wardens and not _wardens(host, SESSION_ID)
    assert watch.steps_held, "no BuildKit step was seen held"


def test_a_cut_buildkit_build_leaves_no_warden(host, tmp_path: Path) -> None:
    from tutor.engine.dockerhost import SESSION_ID

    folder = context(tmp_path / "ctx", {"Dockerfile": f"FROM busybox\nRUN echo {time.time_ns()}; sleep 60\n"})
    cancel = threading.Event()
    with watched(host) as watch:
        threading.Timer(3, cancel.set).start()
        report = _build(host, folder, timeout=60, cancel=cancel)
    assert "cancelled" in report.build.error, report.build.error
    assert watch.wardens and not _wardens(host, SESSION_ID)


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_an_interrupted_tutors_warden_goes_with_it_or_with_the_next_sweep(host, tmp_path: Path, how: signal.Signals) -> None:
    folder = context(tmp_path / "ctx", {"Dockerfile": f"FROM busybox\nRUN echo {time.time_ns()}; sleep 60\n"})
    process = subprocess.Popen(
        [sys.executable, "-m", "tutor", "check", "04-first-dockerfile", "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    session = ""
    deadline = time.monotonic() + 30
    while not session:
        assert process.poll() is None and time.monotonic() < deadline, "no warden appeared"
        for found in host.api.containers(filters={"label": "org.docker-tutor.managed=true"}):
            owner = (found.get("Labels") or {}).get("org.docker-tutor.session", "")
            if owner.startswith(f"{process.pid}-") and _wardens(host, owner):
                session = owner
        time.sleep(0.2)
    time.sleep(1)  # the build under way
    process.send_signal(how)
    _, stderr = process.communicate(timeout=30)
    if how == signal.SIGINT:
        assert process.returncode == 130 and "interrupted" in stderr, stderr
    else:
        assert _wardens(host, session), "the killed tutor's warden should still be there"
        host.sweep_orphans()  # what the next tutor on this machine does first
    assert not _wardens(host, session)


def test_two_buildkit_builds_at_once_each_held_and_neither_fails_the_other(host, tmp_path: Path) -> None:
    """One learner's step forks as far as it can; another's correct build runs beside it."""
    from tutor.engine.dockerhost import SESSION_ID

    forks = context(tmp_path / "forks", {"Dockerfile": f"FROM python:3.11-slim\nRUN echo {time.time_ns()}; {PYTHON_FORKS}\n"})
    correct = "for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait; python3 -c \"s = 'a' * (100 * 2**20)\""
    good = context(tmp_path / "good", {"Dockerfile": f'FROM python:3.11-slim\nRUN echo {time.time_ns()}; {correct}\nCMD ["true"]\n'})
    reports: dict[str, Report] = {}
    threads = [
        threading.Thread(target=lambda: reports.__setitem__("forks", _build(host, forks))),
        threading.Thread(target=lambda: reports.__setitem__("good", _build(host, good, timeout=60, memory_mb=256))),
    ]
    with watched(host) as watch:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert reports["good"].build.ok, reports["good"].build.error
    assert not reports["forks"].build.ok and "did not finish within 10 s" in reports["forks"].build.error
    assert watch.held(), f"a step ran {watch.step_peak} processes, held at {watch.largest_limit}"
    assert len(watch.steps_held) >= 2
    assert len(watch.wardens) == 2 and not _wardens(host, SESSION_ID)
