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


@pytest.mark.parametrize(
    "dockerfile,check,expected",
    [
        # The red team's case, at 2 GB in one file: the file-size limit refuses the write past 50 MB.
        ('CMD ["dd", "if=/dev/zero", "of=/big", "bs=1M", "count=2000"]', {"kind": "command"}, "reached 50 MB"),
        # The same with a shell that hides dd's end and exits 0: judged by the kernel's refusal, not the exit code.
        ('CMD ["sh", "-c", "dd if=/dev/zero of=/big bs=1M count=2000 2>&1 | tail -1; echo OK"]', {"kind": "command"}, "reached 50 MB"),
        # Files of 20 MB each, under the file-size limit, without end: the watch stops it.
        (f'CMD ["sh", "-c", "{_LOOP.format(path="/f")}"]', {"kind": "command"}, "over the 50 MB"),
        # In a volume the image declares: measured there too.
        (f'VOLUME /out\nCMD ["sh", "-c", "touch /out/NONCE; {_LOOP.format(path="/out/f")}"]', {"kind": "command"}, "on its volumes (/out)"),
        # The engine's own files, bind-mounted into the container: neither in the layer nor in a volume.
        (
            'CMD ["sh", "-c", "for f in /etc/hosts /etc/hostname /etc/resolv.conf; do dd if=/dev/zero of=$f bs=1M count=40; done; sleep 60"]',
            {"kind": "command"},
            "in /etc/hosts",
        ),
        # A service (the stop check's container) is held the same way.
        (f'CMD ["sh", "-c", "{_LOOP.format(path="/f")}"]', {"kind": "stop", "ready_seconds": 4}, "over the 50 MB"),
    ],
    ids=["one-big-file", "hidden-by-a-pipe", "many-files", "image-volume", "engine-files", "service"],
)
def test_a_learner_container_that_writes_past_the_budget_is_stopped_and_fails(
    host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dockerfile: str, check: dict, expected: str
) -> None:
    monkeypatch.setenv("DOCKER_TUTOR_MAX_IMAGE_MB", "50")
    nonce = f"n{time.time_ns()}"
    volumes = _volumes(host)
    files = {"Dockerfile": f"FROM busybox\n{dockerfile.replace('NONCE', nonce)}\n"}
    report = grade_all(host, tmp_path / "ctx", [check], files)
    result = report.checks[0]
    assert report.build.ok, report.build.error
    assert not result.passed, result.message
    assert expected in result.message and ("it was stopped" in result.message or "write was refused" in result.message), result.message
    assert "50 MB" in result.message, result.message
    assert "volume the exercise declares" in result.hint, result.hint
    # Stopped, not run to the command's 20 s deadline (nor a service's); the build's time is apart.
    assert result.seconds < 15, f"the check took {result.seconds:.0f} s"
    assert _owned(host) == [], "a container or network was left behind"
    assert _ours(host, volumes, nonce) == [], "a volume was left behind"


def test_a_container_within_the_budget_is_not_stopped(host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """30 MB over three seconds, under the 50 MB budget: looked at, never stopped."""
    monkeypatch.setenv("DOCKER_TUTOR_MAX_IMAGE_MB", "50")
    dockerfile = 'FROM busybox\nCMD ["sh", "-c", "dd if=/dev/zero of=/f bs=1M count=30 2>/dev/null; sleep 5; echo done"]\n'
    report = grade_all(host, tmp_path / "ctx", [{"kind": "command", "expectedOutput": ["done"]}], {"Dockerfile": dockerfile})
    assert report.checks[0].passed, report.checks[0].message
