"""Learner containers held to a build's disk budget on the real engine: the image's CMD, a `command`,
a service. Each case writes past a low budget (DOCKER_TUTOR_MAX_IMAGE_MB=50, so the test is fast)
somewhere a container can write: one big file, many files each under the file-size limit, an image
VOLUME, the engine's /etc/hosts. The check must fail, fast, naming the limit, and leave nothing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.engine.helpers import grade_all
from tests.hostile.test_build_volumes_and_files import _ours, _volumes
from tests.hostile.test_red_team import _owned

pytestmark = pytest.mark.docker

_LOOP = "i=0; while :; do dd if=/dev/zero of={path}$i bs=1M count=20 2>/dev/null; i=$((i+1)); sleep 0.2; done"


# Each case a check of one image, so one build serves them all; they run in parallel, as a grading's do.
_CASES = {
    # The red team's case, at 2 GB in one file: the file-size limit refuses the write past 50 MB.
    "one-big-file": ({"kind": "command", "command": ["dd", "if=/dev/zero", "of=/big", "bs=1M", "count=2000"]}, "reached 50 MB"),
    # The same with a shell that hides dd's end and exits 0: judged by the kernel's refusal, not the exit code.
    "hidden-by-a-pipe": (
        {"kind": "command", "command": ["sh", "-c", "dd if=/dev/zero of=/big bs=1M count=2000 2>&1 | tail -1; echo OK"]},
        "reached 50 MB",
    ),
    # Files of 20 MB each, under the file-size limit, without end: the watch stops it.
    "many-files": ({"kind": "command", "command": ["sh", "-c", _LOOP.format(path="/f")]}, "over the 50 MB"),
    # The engine's own files, bind-mounted into the container: neither in the layer nor in a volume.
    "engine-files": (
        {
            "kind": "command",
            "command": ["sh", "-c", "for f in /etc/hosts /etc/hostname /etc/resolv.conf; do dd if=/dev/zero of=$f bs=1M count=40; done; sleep 60"],
        },
        "in /etc/hosts",
    ),
    # Files each under the limit, written in a burst and the container done before the first look:
    # judged as it ends, before it is removed, and told so (it was never stopped).
    "burst-then-exit": (
        {"kind": "command", "command": ["sh", "-c", "for i in 1 2 3; do dd if=/dev/zero of=/f$i bs=1M count=40 2>/dev/null; done; echo OK"]},
        "before it ended, over the 50 MB",
    ),
    # A service (the stop check's container, running the image's CMD) is held the same way.
    "service": ({"kind": "stop", "ready_seconds": 4}, "over the 50 MB"),
}


def _stopped_for_disk(result, expected: str) -> None:
    where = f"{result.id}: {result.message}"
    assert not result.passed, where
    told = ("it was stopped", "write was refused", "before it ended")
    assert expected in result.message and any(words in result.message for words in told), where
    if "before it ended" in result.message:
        assert "stopped" not in result.message, where
    assert "50 MB" in result.message, where
    assert "volume the exercise declares" in result.hint, f"{result.id}: {result.hint}"
    # Stopped, not run to the command's 20 s deadline (nor a service's); the build's time is apart.
    assert result.seconds < 15, f"{result.id}: the check took {result.seconds:.0f} s"


def test_a_learner_container_that_writes_past_the_budget_is_stopped_and_fails(
    host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_TUTOR_MAX_IMAGE_MB", "50")
    checks = [{"id": name, **check} for name, (check, _expected) in _CASES.items()]
    dockerfile = f'FROM busybox\nCMD ["sh", "-c", "{_LOOP.format(path="/f")}"]\n'
    report = grade_all(host, tmp_path / "ctx", checks, {"Dockerfile": dockerfile})
    assert report.build.ok, report.build.error
    for result in report.checks:
        _stopped_for_disk(result, _CASES[result.id][1])
    assert _owned(host) == [], "a container or network was left behind"


def test_what_a_container_writes_into_its_image_volume_counts(host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An image's VOLUME gives every container an anonymous volume, outside its layer: measured there too."""
    monkeypatch.setenv("DOCKER_TUTOR_MAX_IMAGE_MB", "50")
    nonce = f"n{time.time_ns()}"
    volumes = _volumes(host)
    dockerfile = f'FROM busybox\nVOLUME /out\nCMD ["sh", "-c", "touch /out/{nonce}; {_LOOP.format(path="/out/f")}"]\n'
    report = grade_all(host, tmp_path / "ctx", [{"id": "image-volume", "kind": "command"}], {"Dockerfile": dockerfile})
    assert report.build.ok, report.build.error
    _stopped_for_disk(report.checks[0], "on its volumes (/out)")
    assert _owned(host) == [], "a container or network was left behind"
    assert _ours(host, volumes, nonce) == [], "a volume was left behind"


def test_a_container_within_the_budget_is_not_stopped(host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """30 MB over three seconds, under the 50 MB budget: looked at, never stopped."""
    monkeypatch.setenv("DOCKER_TUTOR_MAX_IMAGE_MB", "50")
    dockerfile = 'FROM busybox\nCMD ["sh", "-c", "dd if=/dev/zero of=/f bs=1M count=30 2>/dev/null; sleep 5; echo done"]\n'
    report = grade_all(host, tmp_path / "ctx", [{"kind": "command", "expectedOutput": ["done"]}], {"Dockerfile": dockerfile})
    assert report.checks[0].passed, report.checks[0].message
