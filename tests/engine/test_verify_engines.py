"""`verify` on every engine set-up the tutor supports: every reference solution passes and every
starter fails. BuildKit on Docker is the default, proven exercise by exercise in
tests/content/test_curriculum.py; here the classic builder, and Podman's Docker-compatible API."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.podman_support import PODMAN_URL, needs_podman

pytestmark = pytest.mark.docker



def verify(tmp_path: Path, *exercises: str, options: tuple[str, ...] = (), env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tutor", *options, "verify", "--jobs", "2", *exercises],
        capture_output=True, text=True, timeout=900,
        env={**os.environ, "DOCKER_TUTOR_DATA": str(tmp_path / "data"), **(env or {})},
    )


def passed_all(result: subprocess.CompletedProcess[str], at_least: int = 19) -> None:
    assert result.returncode == 0, result.stdout + result.stderr
    summary = re.search(r"(\d+) passed, (\d+) failed", result.stdout)
    assert summary and int(summary.group(1)) >= at_least and summary.group(2) == "0", result.stdout


def test_verify_with_the_classic_builder(tmp_path: Path, curriculum) -> None:
    # A solution written with BuildKit-only syntax (06b's cache mount) cannot build on the classic
    # builder; the learner is told so ("the --mount option requires BuildKit").
    chosen = [e.id for e in curriculum.exercises if not _needs_buildkit(e.path / "solution" / "Dockerfile")]
    passed_all(verify(tmp_path, *chosen, options=("--builder", "classic")), len(chosen))


def _needs_buildkit(dockerfile: Path) -> bool:
    from tutor.engine.builders.choice import buildkit_only
    from tutor.engine.dockerfile import DockerfileUnreadable, read_dockerfile

    try:
        return bool(buildkit_only(read_dockerfile(dockerfile)))
    except DockerfileUnreadable:
        return False


@needs_podman
def test_verify_on_podman(tmp_path: Path, curriculum) -> None:
    # Compose exercises are left out: their services wait for one another's HEALTHCHECK, which
    # Podman without systemd never runs (the tutor runs those of the containers it starts itself).
    chosen = [e.id for e in curriculum.exercises if not any(spec.kind.startswith("compose") for spec in e.checks)]
    result = verify(tmp_path, *chosen, env={"DOCKER_HOST": PODMAN_URL})
    passed_all(result, len(chosen))
