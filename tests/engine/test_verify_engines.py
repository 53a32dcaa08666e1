"""The `verify` command on Podman's Docker-compatible API, and `clean` after it. Every solution and
starter is graded on every engine set-up (BuildKit, the classic builder, Podman) in
tests/content/test_curriculum.py, side by side with the rest of the curriculum."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.podman_support import PODMAN_URL, needs_podman
from tests.engine_cleanup import leftovers, owners_under

pytestmark = pytest.mark.docker


def verify(tmp_path: Path, *exercises: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tutor", "verify", "--jobs", "2", *exercises],
        capture_output=True, text=True, timeout=900,
        env={**os.environ, "DOCKER_TUTOR_DATA": str(tmp_path / "data"), **(env or {})},
    )


def passed_all(result: subprocess.CompletedProcess[str], at_least: int = 19) -> None:
    assert result.returncode == 0, result.stdout + result.stderr
    summary = re.search(r"(\d+) passed, (\d+) failed", result.stdout)
    assert summary and int(summary.group(1)) >= at_least and summary.group(2) == "0", result.stdout


@needs_podman
def test_verify_on_podman_then_clean(tmp_path: Path) -> None:
    """An HTTP exercise: on Podman the server's requests come from a prober in its namespace."""
    passed_all(verify(tmp_path, "--quick", "13-serve-a-model", env={"DOCKER_HOST": PODMAN_URL}), 1)
    # verify keeps its images as the next run's cache; `clean` removes every one of them on Podman too.
    import docker

    cleaned = subprocess.run(
        [sys.executable, "-m", "tutor", "clean"], capture_output=True, text=True, timeout=300,
        env={**os.environ, "DOCKER_TUTOR_DATA": str(tmp_path / "data"), "DOCKER_HOST": PODMAN_URL},
    )
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    left = leftovers(docker.APIClient(base_url=PODMAN_URL, timeout=60), owners_under(tmp_path))
    assert not any(left.values()), f"left on Podman after clean: {left}"
    # doctor names the product: Podman's version number is Podman's, not Docker Engine's.
    doctor = subprocess.run(
        [sys.executable, "-m", "tutor", "doctor"], capture_output=True, text=True, timeout=120,
        env={**os.environ, "DOCKER_HOST": PODMAN_URL},
    )
    assert re.search(r"Docker engine: Podman \d", doctor.stdout), doctor.stdout


def test_compose_exercises_are_the_ones_left_out_on_podman(curriculum) -> None:
    """Compose on Podman 4.3 is refused in the README (Builders, Podman): the list there is this one."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    compose = [e.id for e in curriculum.exercises if e.uses_compose]
    assert compose and all(f"`{exercise_id}`" in readme for exercise_id in compose), compose
