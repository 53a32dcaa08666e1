"""What exercise 06b tells a learner about cache mounts holds on every engine they may have: BuildKit
and Podman's Buildah build `RUN --mount=type=cache` and keep the cache, Docker's classic builder stops."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.engine.helpers import grade_all
from tests.engine.podman_support import PODMAN_URL, needs_podman
from tutor import locations
from tutor.content.loader import load_curriculum

TASK = " ".join(next(e for e in load_curriculum([locations.content_root()]).exercises if e.id.startswith("06b-")).task.split())
# Each build adds a line to the cache and prints what the cache held before it.
CHECK = {"kind": "command", "command": ["cat", "/seen"], "expectedOutput": ["^2$"]}


def _files(nonce: str, build: int = 1) -> dict[str, str | bytes]:
    run = f"RUN --mount=type=cache,target=/cache,id=tutor-test-{nonce} echo x >> /cache/lines && wc -l < /cache/lines > /seen"
    return {"Dockerfile": f"FROM busybox:latest\nENV BUILD={build}\n{run}\n"}


def test_the_task_names_each_builder_and_what_it_does() -> None:
    assert "BuildKit (what `docker build` uses since Docker 23, and Docker Desktop)" in TASK
    assert "Podman's builder, Buildah, both do and keep the cache between builds" in TASK
    assert "Docker's classic builder" in TASK and 'stops at this line: "the --mount option requires BuildKit"' in TASK


@pytest.mark.docker
def test_docker_s_classic_builder_stops_at_a_cache_mount(tmp_path: Path, host: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_TUTOR_BUILDER", "classic")
    report = grade_all(host, tmp_path / "f", [CHECK], _files(str(time.time_ns())))
    assert not report.build.ok and "the --mount option requires BuildKit" in report.build.error, report.build.error


def _built_twice(host: Any, folder: Path) -> None:
    """The second build of a changed folder sees the line the first wrote: the cache was kept."""
    nonce = str(time.time_ns())
    first = grade_all(host, folder, [{**CHECK, "expectedOutput": ["^1$"]}], _files(nonce))
    assert first.build.ok and first.passed, (first.build.error, first.checks)
    second = grade_all(host, folder, [CHECK], _files(nonce, build=2))  # the step runs again
    assert second.passed, second.checks


@pytest.mark.docker
def test_buildkit_builds_a_cache_mount_and_keeps_it(tmp_path: Path, host: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_TUTOR_BUILDER", "buildkit")
    _built_twice(host, tmp_path / "f")


@needs_podman
def test_podman_s_buildah_builds_a_cache_mount_and_keeps_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tutor.engine.dockerhost import connect

    monkeypatch.setenv("DOCKER_HOST", PODMAN_URL)
    monkeypatch.delenv("DOCKER_TUTOR_ENGINE", raising=False)
    podman = connect()
    assert podman.is_podman()
    _built_twice(podman, tmp_path / "f")
