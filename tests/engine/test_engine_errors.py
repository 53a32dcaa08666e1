"""Engine errors kept apart: an API error is not a timeout, and a bug in the log parser is a bug
(never "the build stream broke off"); the CLI reports a bug as one, with exit code 70."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import docker.errors
import docker.models.containers
import pytest

from tests.engine.helpers import context
from tutor.engine.builders.buildkit import PlainProgress
from tutor.engine.builders.classic import ClassicLog
from tutor.errors import TutorError


@pytest.mark.docker
def test_an_api_error_while_waiting_is_an_engine_error_not_a_timeout(host, monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(self, **_kwargs):
        raise docker.errors.APIError("409 Conflict", explanation="container is marked for removal")

    monkeypatch.setattr(docker.models.containers.Container, "wait", refused)
    with pytest.raises(TutorError, match="the engine refused: container is marked for removal"):
        host.run("busybox", ["true"], timeout=5)


@pytest.mark.docker
@pytest.mark.parametrize("builder", ["classic", "buildkit"])
def test_a_bug_in_the_log_parser_surfaces_as_the_bug(
    host, builder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self, chunk: dict) -> None:
        raise AttributeError("a parser bug")  # also what a cut stream raises inside urllib3

    monkeypatch.setenv("DOCKER_TUTOR_BUILDER", builder)
    monkeypatch.setattr(ClassicLog if builder == "classic" else PlainProgress, "feed", broken)
    folder = context(tmp_path / "ctx", {"Dockerfile": f"FROM busybox\nRUN echo {builder}\n"})
    with pytest.raises(AttributeError, match="a parser bug"):
        host.build(folder, tag=None, exercise_id="99-test", timeout=60, network=False, memory_mb=256, on_event=lambda _e: None)


def test_the_cli_reports_a_bug_as_a_bug(tmp_path: Path) -> None:
    code = (
        "import sys, tutor.cli as cli\n"
        "def broken(args): raise ZeroDivisionError('a bug of ours')\n"
        "cli.COMMANDS['list'] = broken\n"
        "sys.exit(cli.main(['list']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 70
    assert "ZeroDivisionError: a bug of ours" in result.stderr and "This is a bug in docker-tutor" in result.stderr


@pytest.mark.parametrize(
    "said",
    [
        'reading image "00cb3bea72d8": locating image with ID "00cb3bea72d8": image not known',
        "failed to convert ImageData to ImageInspect 'busybox': locating item named \"manifest\" for image with ID "
        '"52ae511222812dd9": file does not exist',
    ],
)
def test_podman_s_words_for_an_image_removed_under_a_lookup_are_asked_again(said: str) -> None:
    """Both seen in full runs, while another grading removed an image: the lookup is asked again."""
    from tutor.engine.dockerhost import PODMAN_STORAGE_RACE

    assert PODMAN_STORAGE_RACE.search(said)
    assert not PODMAN_STORAGE_RACE.search("No such image: busybox")
