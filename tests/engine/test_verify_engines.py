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


# On Podman, within the suite's time budget: `verify --quick` (solution passes, starter fails) of
# one exercise per place where Podman answers differently from Docker. The whole curriculum,
# mistakes and variants included, is `docker-tutor verify` on Podman (README: Builders, Podman).
PODMAN_SAMPLE = (
    "13-serve-a-model",  # http from the server's network namespace; health run by the tutor
    "14-artifacts-volume",  # files' owners asked with stat; a VOLUME folder as the image has it
)


@needs_podman
def test_verify_on_podman(tmp_path: Path, curriculum) -> None:
    known = {e.id for e in curriculum.exercises}
    assert set(PODMAN_SAMPLE) <= known, set(PODMAN_SAMPLE) - known
    result = verify(tmp_path, "--quick", *PODMAN_SAMPLE, env={"DOCKER_HOST": PODMAN_URL})
    passed_all(result, len(PODMAN_SAMPLE))


def test_compose_exercises_are_the_ones_left_out_on_podman(curriculum) -> None:
    """Compose on Podman 4.3 is refused in the README (Builders, Podman): the list there is this one."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    compose = [e.id for e in curriculum.exercises if any(spec.kind.startswith("compose") for spec in e.checks)]
    assert compose and all(f"`{exercise_id}`" in readme for exercise_id in compose), compose
