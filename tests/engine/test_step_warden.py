"""The step warden's script (tutor/engine/builders/step_warden.py), run in its real images against a
cgroup tree laid out in a folder: where it finds BuildKit's steps, what it writes, what it leaves."""

from __future__ import annotations

import time
from pathlib import Path

import docker.types
import pytest

from tutor.engine.builders.step_warden import _SCRIPTS, MOUNT, StepWarden

pytestmark = pytest.mark.docker

UNLIMITED = "9223372036854771712"  # what memory.limit_in_bytes reads when no limit was set
MEMORY = str(256 * 2**20)
DISK_KB = str(10**6)  # what a step may hold, in KB: these fake steps have no processes to measure


def _step(root: Path, parent: str, step: str, pids: str, memory: str = UNLIMITED) -> Path:
    for controller, files in (("pids", {"pids.max": pids}), ("memory", {"memory.limit_in_bytes": memory, "memory.memsw.limit_in_bytes": memory})):
        folder = root / controller / parent / "buildkit" / step
        folder.mkdir(parents=True, exist_ok=True)
        for name, value in files.items():
            (folder / name).write_text(f"{value}\n")
    return root


def _read(root: Path, controller: str, parent: str, step: str, name: str) -> str:
    return (root / controller / parent / "buildkit" / step / name).read_text().strip()


def _ready_warden(host, image: str, root: Path):
    """A warden on a fake cgroup tree, once it said it is ready."""
    container = host.client.containers.run(
        image, [*_SCRIPTS[image], "64", MEMORY, DISK_KB], detach=True, network_mode="none",
        mounts=[docker.types.Mount(MOUNT, str(root), type="bind")], labels={"org.docker-tutor.test": "step-warden"},
    )
    deadline = time.monotonic() + 30
    while b"ready" not in container.logs():
        if time.monotonic() > deadline:
            container.remove(force=True)
            raise AssertionError(container.logs())
        time.sleep(0.05)
    return container


@pytest.mark.parametrize("image", list(_SCRIPTS))
def test_the_warden_holds_every_step_under_a_moved_cgroup_parent_and_lowers_none(host, tmp_path: Path, image: str) -> None:
    if not host.image_attrs(image):
        pytest.skip(f"no {image} image")
    root = tmp_path / "cgroup"
    parent = "classroom/engine"  # an operator's --cgroup-parent: two levels, not /docker
    _step(root, parent, "unlimited", "max")
    _step(root, parent, "held-higher", "1000", str(2 * 2**30))  # another warden's larger figures: kept
    _step(root, parent, "held-lower", "10", str(2**20))  # smaller ones: raised to this warden's
    (root / "pids" / "unrelated").mkdir()
    (root / "pids" / "unrelated" / "pids.max").write_text("max\n")
    container = _ready_warden(host, image, root)
    try:
        # At ready, the steps that were there already are held.
        assert _read(root, "pids", parent, "unlimited", "pids.max") == "64"
        assert _read(root, "memory", parent, "unlimited", "memory.limit_in_bytes") == MEMORY
        assert _read(root, "memory", parent, "unlimited", "memory.memsw.limit_in_bytes") == MEMORY
        assert _read(root, "pids", parent, "held-higher", "pids.max") == "1000"
        assert _read(root, "memory", parent, "held-higher", "memory.limit_in_bytes") == str(2 * 2**30)
        assert _read(root, "pids", parent, "held-lower", "pids.max") == "64"
        assert _read(root, "memory", parent, "held-lower", "memory.limit_in_bytes") == MEMORY
        assert (root / "pids" / "unrelated" / "pids.max").read_text() == "max\n"
        # A step that appears later is held within a few ticks.
        _step(root, parent, "new", "max")
        deadline = time.monotonic() + 5
        # (A plain file is empty for a moment while the script writes it: a cgroup file never is.)
        while (_read(root, "pids", parent, "new", "pids.max"), _read(root, "memory", parent, "new", "memory.limit_in_bytes")) != ("64", MEMORY):
            assert time.monotonic() < deadline, "the new step was never held"
            time.sleep(0.02)
    finally:
        container.remove(force=True)


@pytest.mark.parametrize("image", list(_SCRIPTS))
def test_the_warden_tells_once_of_a_step_that_reached_its_process_limit(host, tmp_path: Path, image: str) -> None:
    """A refused fork counts in the step's own pids.events: the warden tells of that step once, with
    the limit it holds, and the time of the engine's stamp ties it to the step that ran then."""
    if not host.image_attrs(image):
        pytest.skip(f"no {image} image")
    root = tmp_path / "cgroup"
    _step(root, "docker", "forked", "max")
    _step(root, "docker", "calm", "max")
    for step, events, current in (("forked", "max 0", "3"), ("calm", "max 0", "2")):
        (root / "pids" / "docker" / "buildkit" / step / "pids.events").write_text(f"{events}\n")
        (root / "pids" / "docker" / "buildkit" / step / "pids.current").write_text(f"{current}\n")
    container = _ready_warden(host, image, root)
    try:
        warden = StepWarden(64, 256, 0.0, container)
        assert b"limit" not in container.logs() and not warden.limit_reached(time.time() - 60, time.time())
        started = time.time()
        (root / "pids" / "docker" / "buildkit" / "forked" / "pids.events").write_text("max 3\n")
        deadline = time.monotonic() + 5
        while b"limit" not in container.logs():
            assert time.monotonic() < deadline, container.logs()
            time.sleep(0.02)
        time.sleep(0.3)  # more ticks: it is told once
        told = [line for line in container.logs().decode().splitlines() if line.startswith("limit")]
        assert told == ["limit forked 64"], told
        assert warden.limit_reached(started, time.time()) == 64
        assert warden.limit_reached(started - 60, started - 30) == 0  # a step that ran before: not this one
    finally:
        container.remove(force=True)
