"""Build steps held to the disk budget in their volumes too, and to a count of files, on the real engine.

A `VOLUME` path sends what a classic build's step writes there to an anonymous volume, outside the
step's writable layer; a step can also make a huge number of empty files, which cost inodes, not
bytes. Each case builds a real image; leftovers are counted by this test's own marks (a nonce in
the image history, a nonce file in a volume, the owner label)."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import docker.types
import pytest

from tests.engine.helpers import context, exercise
from tests.hostile.test_red_team import _owned
from tutor.content.model import BuildSettings
from tutor.engine.grader import Grading, grade
from tutor.engine.report import Report

pytestmark = pytest.mark.docker

_MAKE_FILES = "python3 -c \"import os; os.makedirs('{path}', exist_ok=True); [open('{path}/%d' % i, 'w').close() for i in range({n})]\""


def _images(host) -> set[str]:
    return {image["Id"] for image in host.api.images(all=True)}


def _images_with(host, before: set[str], nonce: str) -> list[str]:
    """Images made since `before` whose history mentions `nonce`: this test's, on a shared engine."""
    found = []
    for image in _images(host) - before:
        with contextlib.suppress(Exception):
            if any(nonce in (entry.get("CreatedBy") or "") for entry in host.api.history(image)):
                found.append(image)
    return found


def _volumes(host) -> set[str]:
    return {v["Name"] for v in host.api.volumes().get("Volumes") or []}


def _ours(host, before: set[str], nonce: str) -> list[str]:
    """Volumes made since `before` that hold this test's nonce file: this test's, on a shared engine."""
    found = []
    for name in _volumes(host) - before:
        created = ""
        with contextlib.suppress(Exception):
            created = host.api.inspect_volume(name)["CreatedAt"]
            mount = docker.types.Mount("/v", name, type="volume", read_only=True, no_copy=True)
            if host.client.containers.run("busybox", ["test", "-e", f"/v/{nonce}"], mounts=[mount], network_mode="none", remove=True) == b"":
                found.append(name)
        with contextlib.suppress(Exception):
            if created and host.api.inspect_volume(name)["CreatedAt"] != created:
                host.api.remove_volume(name)  # it was removed meanwhile, and the mount made it anew
    return found


def _build(host, tmp_path: Path, dockerfile: str, timeout: float = 120) -> Report:
    folder = context(tmp_path / "ctx", {"Dockerfile": dockerfile})
    return grade(exercise([{"kind": "user"}], build=BuildSettings(timeout=timeout)), folder, lambda: host, grading=Grading(keep_image=False))


@pytest.mark.parametrize(
    "run,expected",
    [
        # The red team's case: 3 x 600 MB, each file under the 1 GB file-size limit, and the step ends.
        ("for i in 1 2 3; do dd if=/dev/zero of=/data/f$i bs=1M count=600; done", "over the 1.0 GB"),
        # A step that fails after filling its volume: the volume goes with the failed build.
        ("dd if=/dev/zero of=/data/f bs=1M count=20 && exit 3", "failed with exit code 3"),
        # Cut at the build's deadline while it holds its volume.
        ("dd if=/dev/zero of=/data/f bs=1M count=20 && sleep 60", "did not finish within 6 s"),
    ],
    ids=["over-budget", "failed-step", "cut-at-deadline"],
)
def test_what_a_build_step_writes_into_a_volume_counts_and_the_volume_goes_with_the_build(
    host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: str, expected: str
) -> None:
    monkeypatch.setenv("DOCKER_TUTOR_BUILDER", "classic")  # BuildKit keeps a step's writes to a VOLUME path in the layer
    nonce = f"v{time.time_ns()}"
    before, images = _volumes(host), _images(host)
    report = _build(host, tmp_path, f"FROM busybox\nVOLUME /data\nRUN touch /data/{nonce} && {run}\nCMD [\"true\"]\n", timeout=6 if "sleep" in run else 120)
    assert not report.build.ok, "the build passed"
    assert expected in report.build.error, report.build.error
    if "over the" in expected:
        assert "under VOLUME /data" in report.build.error, report.build.error
        assert "declared as a VOLUME" in report.build.hint, report.build.hint
    assert _owned(host) == [] and not _images_with(host, images, nonce)
    assert _ours(host, before, nonce) == [], "the step's volume was left behind"


@pytest.mark.parametrize(
    "builder,dockerfile,expected",
    [
        # Files in the image, in steps each under the limit: counted when the build is done, under either builder.
        ("classic", "RUN echo {nonce} && " + _MAKE_FILES.format(path="/a", n=4000) + "\nRUN " + _MAKE_FILES.format(path="/b", n=4000), "the build added 8,"),
        ("buildkit", "RUN echo {nonce} && " + _MAKE_FILES.format(path="/a", n=8000), "the build added 8,"),
        # Files in a volume never reach the image: counted in the volume while the step runs, or when it is over.
        ("classic", "VOLUME /many\nRUN touch /many/{nonce} && " + _MAKE_FILES.format(path="/many", n=8000), "under VOLUME /many"),
    ],
    ids=["classic-image", "buildkit-image", "classic-volume"],
)
def test_a_build_that_makes_too_many_files_is_refused_and_leaves_nothing(
    host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, builder: str, dockerfile: str, expected: str
) -> None:
    monkeypatch.setenv("DOCKER_TUTOR_BUILDER", builder)
    monkeypatch.setenv("DOCKER_TUTOR_MAX_BUILD_FILES", "5000")  # 50,000 by default: a smaller figure, a faster test
    nonce = f"n{time.time_ns()}"
    before, images = _volumes(host), _images(host)
    started = time.monotonic()
    report = _build(host, tmp_path, "FROM python:3.11-slim\n" + dockerfile.format(nonce=nonce) + "\nCMD [\"true\"]\n")
    assert not report.build.ok, "an image with 8,000 new files was kept"
    assert expected in report.build.error and "over the 5,000" in report.build.error, report.build.error
    # A VOLUME path's own hint comes first: the fix is where the step writes.
    assert ("declared as a VOLUME" if "VOLUME" in expected else "files at run time") in report.build.hint, report.build.hint
    assert time.monotonic() - started < 90
    assert _owned(host) == [] and not _images_with(host, images, nonce)
    assert _ours(host, before, nonce) == []


def test_a_running_step_that_makes_too_many_files_is_stopped(host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The running step's changed paths are counted (every 10 s): it is stopped, not waited for."""
    monkeypatch.setenv("DOCKER_TUTOR_BUILDER", "classic")
    monkeypatch.setenv("DOCKER_TUTOR_MAX_BUILD_FILES", "5000")
    nonce = f"r{time.time_ns()}"
    images = _images(host)
    started = time.monotonic()
    report = _build(host, tmp_path, f"FROM python:3.11-slim\nRUN echo {nonce} && {_MAKE_FILES.format(path='/many', n=8000)} && sleep 100\n")
    took = time.monotonic() - started
    assert not report.build.ok and "a build step made" in report.build.error and "over the 5,000" in report.build.error, report.build.error
    assert took < 40, f"stopped after {took:.0f} s"
    assert _owned(host) == [] and not _images_with(host, images, nonce)


def test_step_volumes_a_killed_tutor_was_holding_are_removed_by_the_next_one(host) -> None:
    """kill -9 while the reader holds a step's volume: the build's note names it, the next tutor removes it."""
    from tutor.engine.builders.journal import BuildJournal
    from tutor.engine.dockerhost import HOST_LABEL, MANAGED_LABEL, SESSION_LABEL, _process_space

    dead = f"{2**22 + 4321}-x"  # above the default pid_max: no such process
    volume = host.api.create_volume()["Name"]
    reader = host.client.containers.create(
        "busybox", ["sleep", "60"], labels={MANAGED_LABEL: "true", SESSION_LABEL: dead, HOST_LABEL: _process_space()},
        mounts=[docker.types.Mount("/v", volume, type="volume", read_only=True)],
    )
    journal = BuildJournal(host.api.base_url, dead, _process_space())
    journal.note(host.image_attrs("busybox")["Id"], [], "", time.time(), [volume])
    try:
        host.sweep_orphans()
        assert reader.id not in [c["Id"] for c in host.api.containers(all=True)]
        assert volume not in _volumes(host), "the held step volume was left behind"
    finally:
        journal.close()
        with contextlib.suppress(Exception):
            reader.remove(force=True)
        with contextlib.suppress(Exception):
            host.api.remove_volume(volume)


def test_clean_removes_the_step_volumes_a_left_reader_held(host) -> None:
    """A reader left by a tutor killed before its note was written: `clean` removes it and what it held."""
    from tutor.engine.builders.step_watch import _MOUNTED
    from tutor.engine.dockerhost import HOST_LABEL, MANAGED_LABEL, SESSION_LABEL, _process_space
    from tutor.engine.owner import OWNER_LABEL, owner_id

    dead = f"{2**22 + 4322}-x"  # the killed tutor's session (above the default pid_max: no such process)
    volume = host.api.create_volume()["Name"]
    reader = host.client.containers.create(
        "busybox", ["sleep", "60"],
        labels={MANAGED_LABEL: "true", OWNER_LABEL: owner_id(), SESSION_LABEL: dead, HOST_LABEL: _process_space()},
        mounts=[docker.types.Mount(f"{_MOUNTED}/0", volume, type="volume", read_only=True)],
    )
    try:
        containers, _ = host.sweep()
        assert containers == 1 and volume not in _volumes(host), "clean left the step volume behind"
    finally:
        with contextlib.suppress(Exception):
            reader.remove(force=True)
        with contextlib.suppress(Exception):
            host.api.remove_volume(volume)


def test_what_a_build_step_writes_into_the_engine_s_files_counts(host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A step's /etc/hosts, /etc/hostname and /etc/resolv.conf are files of the engine's machine,
    in neither the layer nor a volume: the red team held 1.2 GB there through a whole build."""
    monkeypatch.setenv("DOCKER_TUTOR_BUILDER", "classic")
    monkeypatch.setenv("DOCKER_TUTOR_MAX_IMAGE_MB", "50")
    images = _images(host)
    nonce = f"e{time.time_ns()}"
    run = "for f in /etc/hosts /etc/hostname /etc/resolv.conf; do dd if=/dev/zero of=$f bs=1M count=40; done; sleep 60"
    started = time.monotonic()
    report = _build(host, tmp_path, f"FROM busybox\nRUN echo {nonce} && {run}\n")
    assert not report.build.ok, "the build passed"
    assert "over the 50 MB" in report.build.error and "in /etc/hosts" in report.build.error, report.build.error
    assert time.monotonic() - started < 40, "held until the deadline, not stopped"
    assert _owned(host) == [] and not _images_with(host, images, nonce)


def test_a_running_step_s_engine_files_are_stat_ed_every_few_looks_not_at_each(host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine's files cost three requests a stat: a step is looked at every 2 s, its engine files
    every 10 s (FILE_POLL_SECONDS, as its changed paths), so a 7 s step has them stat'ed at most once."""
    import requests.sessions

    monkeypatch.setenv("DOCKER_TUTOR_BUILDER", "classic")
    stats: list[str] = []
    send = requests.sessions.Session.send

    def counted(self, request, **kwargs):
        if request.method == "HEAD" and "/archive" in request.path_url:
            stats.append(request.path_url)
        return send(self, request, **kwargs)

    monkeypatch.setattr(requests.sessions.Session, "send", counted)
    report = _build(host, tmp_path, f"FROM busybox\nRUN echo e{time.time_ns()} && sleep 7\n")
    assert report.build.ok, report.build.error
    assert len(stats) <= 3, stats
