"""Cache mounts on a shared engine: each owner's, and each graded folder's, are its own.

BuildKit (and Podman's Buildah) key a cache mount by its id (by default its target) across the whole
engine, so without the tutor's namespace one learner's build reads, or poisons, another's pip cache."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.helpers import context, exercise
from tests.engine.podman_support import PODMAN_URL, podman_answers
from tutor.engine.grader import Grading, grade

pytestmark = pytest.mark.docker

# Two mounts: the default id (the target, as exercise 06b teaches) and an id of the learner's own.
_MOUNTS = "--mount=type=cache,target=/root/.cache/pip --mount=type=cache,id=pip,target=/ids"


def _dockerfile(nonce: str, write: str) -> str:
    # The nonce makes each build's step new (not taken from the layer cache); /seen is what the
    # step found in the cache mounts before writing its own file.
    return (
        "FROM busybox\n"
        f"RUN {_MOUNTS} cat /root/.cache/pip/* /ids/* > /seen 2>/dev/null; "
        f"echo {write} > /root/.cache/pip/{nonce}; echo {write} > /ids/{nonce}; echo {nonce}\n"
    )


@pytest.fixture(params=["buildkit", "podman"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Docker's engine with BuildKit (a namespace the engine offers), and Podman (Buildah has none:
    the tutor sends it a Dockerfile whose cache mounts it made private)."""
    if request.param == "buildkit":
        monkeypatch.setenv("DOCKER_TUTOR_BUILDER", "buildkit")
        yield request.getfixturevalue("host")
        return
    if not podman_answers():
        pytest.skip("no Podman API service answers (bash .ci/podman.sh starts one)")
    from tutor.engine.dockerhost import connect

    monkeypatch.setenv("DOCKER_HOST", PODMAN_URL)
    monkeypatch.delenv("DOCKER_TUTOR_ENGINE", raising=False)
    yield connect()


def _saw(host, folder: Path, dockerfile: str, secret: str) -> bool:
    """Grade the folder; did its build step find `secret` in its cache mounts?"""
    check = {"kind": "command", "command": ["cat", "/seen"], "expectedOutput": [secret]}
    report = grade(exercise([check]), context(folder, {"Dockerfile": dockerfile}), lambda: host, grading=Grading(keep_image=False))
    assert report.build.ok, report.build.error
    # The learner's own text in the log, never the tutor's copy with its private ids.
    log = "\n".join(report.build.log_tail)
    assert f"RUN {_MOUNTS} cat" in log and not re.search(r"id=[0-9a-f]{32}-", log), log
    return report.checks[0].passed


def test_cache_mounts_are_private_to_an_owner_and_a_graded_folder(engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    host = engine
    nonce = f"n{time.time_ns()}"
    secret = f"secret-of-a-{nonce}"
    monkeypatch.setenv("DOCKER_TUTOR_DATA", str(tmp_path / "learner-a"))
    assert not _saw(host, tmp_path / "a", _dockerfile(f"{nonce}a1", secret), secret)

    # Another learner (serve: another data folder, so another owner secret), same targets and id.
    monkeypatch.setenv("DOCKER_TUTOR_DATA", str(tmp_path / "learner-b"))
    assert not _saw(host, tmp_path / "b", _dockerfile(f"{nonce}b1", "poison"), secret)
    # Another folder graded by the same tutor (grade: the instructor's one data folder).
    monkeypatch.setenv("DOCKER_TUTOR_DATA", str(tmp_path / "learner-a"))
    assert not _saw(host, tmp_path / "a-other", _dockerfile(f"{nonce}a2", "poison"), secret)

    # The learner's own next check of the same folder (an edited Dockerfile) finds its cache, and
    # neither the other learner's nor the other folder's writes.
    assert _saw(host, tmp_path / "a", _dockerfile(f"{nonce}a3", "again"), secret)
    assert not _saw(host, tmp_path / "a", _dockerfile(f"{nonce}a4", "again"), "poison")


def test_a_failing_step_with_a_cache_mount_is_named_in_the_learners_words(engine, tmp_path: Path) -> None:
    dockerfile = f"FROM busybox\nRUN {_MOUNTS} \\\n    false\n"
    report = grade(exercise([{"kind": "user"}]), context(tmp_path / "f", {"Dockerfile": dockerfile}), lambda: engine, grading=Grading(keep_image=False))
    assert not report.build.ok and "false" in report.build.error
    assert not re.search(r"id=[0-9a-f]{32}-", report.build.error + "\n".join(report.build.log_tail)), report.build.error
