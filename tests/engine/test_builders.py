"""Both builders on the real engine: the same guarantees, BuildKit's log, no image left behind."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

from tests.engine.helpers import context, exercise, images_made
from tutor.content.model import BuildSettings
from tutor.engine.dockerhost import EXERCISE_LABEL
from tutor.engine.events import BuildOutput
from tutor.engine.folder_images import image_tag
from tutor.engine.grader import grade

pytestmark = pytest.mark.docker


def test_pip_cache_mount_passes_exercise_06_with_buildkits_log(host, curriculum, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DOCKER_TUTOR_BUILDER", "buildkit")
    exercise_06 = next(e for e in curriculum.exercises if e.id == "06-cache-friendly-order")
    folder = tmp_path / "06"
    shutil.copytree(exercise_06.solution_dir, folder)
    dockerfile = folder / "Dockerfile"
    dockerfile.write_text(
        dockerfile.read_text().replace(
            "RUN pip install --no-cache-dir", "RUN --mount=type=cache,target=/root/.cache/pip pip install"
        )
    )
    lines: list[str] = []
    try:
        report = grade(exercise_06, folder, lambda: host, on_event=lambda e: lines.append(e.line) if isinstance(e, BuildOutput) else None)
    finally:
        host.remove_image(image_tag(exercise_06, folder))
    assert report.passed, [(c.id, c.message) for c in report.checks]
    assert any(re.fullmatch(r"#\d+ \[(?:\S+ )?\d+/\d+\] RUN --mount=type=cache,target=/root/\.cache/pip pip install .*", line) for line in lines), lines
    assert any(re.fullmatch(r"#\d+ DONE \d+\.\d+s", line) for line in lines)
    assert not any(line.startswith("Step ") for line in lines)


def test_label_without_a_step_and_the_count_the_learner_sees(host, tmp_path: Path, builder: str) -> None:
    files = {"Dockerfile": f"FROM busybox\nRUN echo {time.time_ns()} > /n\nCMD [\"cat\", \"/n\"]\n"}
    lines: list[str] = []
    checked = exercise([{"kind": "user"}], exercise_id="99-labels")
    folder = context(tmp_path / "ctx", files)
    try:
        report = grade(checked, folder, lambda: host, on_event=lambda e: lines.append(e.line) if isinstance(e, BuildOutput) else None)
        labels = host.image_attrs(report.build.image_id)["Config"]["Labels"]
    finally:
        host.remove_image(image_tag(checked, folder))
    assert report.build.ok and labels[EXERCISE_LABEL] == "99-labels"
    assert not any("LABEL" in line for line in lines), lines  # the tutor's own label is no step
    if builder == "classic":
        assert report.build.steps_total == 3 and "Step 3/3 : CMD [\"cat\", \"/n\"]" in lines
    else:
        assert report.build.steps_total == 2  # FROM and RUN: BuildKit makes no step of CMD
        assert any(line.startswith("#") and "[2/2] RUN echo" in line for line in lines)


def test_cache_check_reads_the_builders_cached_flags(host, tmp_path: Path, builder: str) -> None:
    nonce = time.time_ns()
    checked = exercise([{"kind": "cache", "change": "train.py", "cached": ["requirements"], "rebuilt": ["^COPY train"]}])
    folder = context(tmp_path / "ctx", {
        "requirements.txt": f"x=={nonce}\n", "train.py": "print(1)\n",
        "Dockerfile": "FROM busybox\nCOPY requirements.txt .\nRUN cat requirements.txt > /deps\nCOPY train.py .\n",
    })
    try:
        report = grade(checked, folder, lambda: host)
    finally:
        host.remove_image(image_tag(checked, folder))
    assert report.checks[0].passed, report.checks[0].message


def test_a_thousand_step_build_cut_at_its_deadline_leaves_no_image(host, tmp_path: Path, builder: str) -> None:
    nonce = f"n{time.time_ns()}"
    # ENV steps commit an image each under the classic builder without a container: many per second.
    steps = [f"RUN echo {nonce} > /n"] + [f"RUN echo {i} >> /n" if i % 50 == 0 else f"ENV S{i}={nonce}" for i in range(1, 1000)]
    folder = context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\n" + "\n".join(steps) + "\n"})
    before = {image["Id"] for image in host.api.images(all=True)}
    started = time.monotonic()
    report = grade(exercise([{"kind": "user"}], build=BuildSettings(timeout=4)), folder, lambda: host)
    assert not report.build.ok and "did not finish within 4 s" in report.build.error, report.build.error
    assert time.monotonic() - started < 60  # the deadline, then waiting out the engine's last commit
    assert not images_made(host, nonce, before)


def test_images_of_a_classic_build_whose_tutor_was_killed_are_swept_by_the_next(host, tmp_path: Path, monkeypatch) -> None:
    import signal
    import subprocess
    import sys

    from tutor.engine.builders.journal import _folder

    monkeypatch.setenv("DOCKER_TUTOR_BUILDER", "classic")
    nonce = f"k{time.time_ns()}"
    steps = [f"ENV S{i}={nonce}" for i in range(2000)]
    folder = context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\n" + "\n".join(steps) + "\n"})
    before = {image["Id"] for image in host.api.images(all=True)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tutor", "check", "04-first-dockerfile", "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not [p for p in _folder().glob(f"{process.pid}-*.json")] and time.monotonic() < deadline:
        time.sleep(0.1)
    # Killed once the build has made an image: how long its first step takes depends on the machine.
    while not images_made(host, nonce, before) and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    time.sleep(1.0)  # the engine sees the closed connection and stops the build
    assert images_made(host, nonce, before), "the killed build made no image: nothing was tested"
    host.sweep_orphans()
    assert not images_made(host, nonce, before)
    assert not list(_folder().glob(f"{process.pid}-*.json"))


def test_a_build_cancelled_before_the_engine_answers_still_stops(host, tmp_path: Path, builder: str) -> None:
    """The cut is made again until the build stream has begun: a cancel that comes before the
    engine's answer (a busy engine, a large context) must not leave the build running."""
    import threading

    cancel = threading.Event()
    cancel.set()  # before the request is even sent
    folder = context(tmp_path / "ctx", {"Dockerfile": f"FROM busybox\nRUN echo {time.time_ns()} && sleep 600\n"})
    started = time.monotonic()
    report = grade(exercise([{"kind": "user"}]), folder, lambda: host, cancel=cancel)
    assert time.monotonic() - started < 15
    assert report.build.error == "the build was cancelled"
