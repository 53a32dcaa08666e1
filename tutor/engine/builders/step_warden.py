"""The limits BuildKit's build steps get: a warden container writes them into each step's cgroup.

The build API hands BuildKit neither `cgroupparent`, `memory` nor `ulimits`: on Engine 20.10 each
BuildKit step runs in a cgroup of its own, `<engine's cgroup parent>/buildkit/<id>` under every
controller, with no process or memory limit. Where the engine runs cgroup v1 with the cgroupfs
driver (step_limits.supported), the tutor runs a small warden container for the length of a
BuildKit build. It sees the engine machine's cgroup filesystem and, every 50 ms, gives every
BuildKit step cgroup it finds `pids.max` = the build's process limit and `memory.limit_in_bytes`
(and `memory.memsw.limit_in_bytes`) = the build's memory; the build starts once it said `ready`.

A step cgroup's name is BuildKit's, not the build's, so on a shared engine a warden cannot tell
its build's steps from another learner's. So every warden writes its figures to every step, and
never lowers one already written: concurrent wardens agree on the largest figure among them, and
no warden holds another learner's step below that learner's own limit, nor stops their build.
A step held at its process limit ends with its build's deadline (or when it gives up, as a shell
does when a fork fails); one over its memory is killed by the kernel, as under the classic builder.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import docker.types

from tutor.errors import TutorError

if TYPE_CHECKING:
    from tutor.engine.dockerhost import DockerHost

MOUNT = "/host-cgroup"  # where the warden sees the engine machine's /sys/fs/cgroup
POLL_SECONDS = 0.05
READY_SECONDS = 20.0  # the longest a build waits for its warden's first pass (a loaded engine)
# The warden's own sandbox: a shell loop (or Python's) that reads and writes a few small files.
_MEMORY_MB = 32
_PIDS = 8
_CPUS = 0.25

# Both scripts: find the `buildkit` folder under the pids and memory controllers (the engine's
# cgroup parent, `/docker` by default, may be another path: up to two levels deep), then at every
# tick give every step cgroup under it the figures, where it holds none or a smaller one. An
# unlimited memory.limit_in_bytes reads as a 19-digit number. Memory is written, then memsw
# (which may not be below it), then memory again (raising one already set: memsw must go first).
_SHELL = f"""
exec 2>/dev/null
P=$1 M=$2 R={MOUNT} PB= MB=
find_parents() {{
  for d in $R/pids/buildkit $R/pids/*/buildkit $R/pids/*/*/buildkit; do [ -d "$d" ] && PB="$PB $d"; done
  for d in $R/memory/buildkit $R/memory/*/buildkit $R/memory/*/*/buildkit; do [ -d "$d" ] && MB="$MB $d"; done
}}
below() {{ read v < "$1" && {{ [ "$v" = max ] || [ ${{#v}} -ge 19 ] || [ "$v" -lt "$2" ]; }}; }}
while :; do
  [ -n "$PB" ] && [ -n "$MB" ] || {{ PB= MB=; find_parents; }}
  for b in $PB; do for d in $b/*/; do
    below "${{d}}pids.max" $P && echo $P > "${{d}}pids.max"
  done; done
  for b in $MB; do for d in $b/*/; do
    f="${{d}}memory.limit_in_bytes"
    below "$f" $M && {{ echo $M > "$f"; echo $M > "${{d}}memory.memsw.limit_in_bytes"; echo $M > "$f"; }}
  done; done
  [ -n "$ready" ] || {{ echo ready; ready=1; }}
  sleep {POLL_SECONDS}
done
"""
_PYTHON = f"""
import glob, os, sys, time
pids, memory = sys.argv[1], sys.argv[2]
def write(path, value):
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError:
        pass
def below(path, value):
    try:
        with open(path) as f:
            held = f.read().strip()
    except OSError:
        return False
    return held == "max" or len(held) >= 19 or int(held) < int(value)
parents = {{}}
ready = False
while True:
    for controller in ("pids", "memory"):
        if not parents.get(controller):
            parents[controller] = [d for depth in ("", "*/", "*/*/")
                                   for d in glob.glob(f"{MOUNT}/{{controller}}/{{depth}}buildkit") if os.path.isdir(d)]
    for step in [s for p in parents["pids"] for s in glob.glob(p + "/*/")]:
        if below(step + "pids.max", pids):
            write(step + "pids.max", pids)
    for step in [s for p in parents["memory"] for s in glob.glob(p + "/*/")]:
        if below(step + "memory.limit_in_bytes", memory):
            for name in ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.limit_in_bytes"):
                write(step + name, memory)
    if not ready:
        print("ready", flush=True)
        ready = True
    time.sleep({POLL_SECONDS})
"""
_SCRIPTS = {
    "busybox": ["sh", "-c", _SHELL, "warden"],
    "python:3.11-slim": ["python3", "-c", _PYTHON],
}


@dataclass(frozen=True, slots=True)
class StepWarden:
    """The figures a warden holds BuildKit's steps to, and how long it took to be ready."""

    pids: int
    memory_mb: int
    ready_seconds: float


@contextlib.contextmanager
def step_warden(host: DockerHost, *, pids: int, memory_mb: int, exercise_id: str = "") -> Iterator[StepWarden | None]:
    """A warden holding BuildKit's steps to these limits while the block runs (None where the
    engine cannot give them: cgroup v2, the systemd driver, Podman, rootless)."""
    from tutor.engine.builders.step_limits import supported
    from tutor.engine.driver import Sandbox

    image = next((name for name in _SCRIPTS if host.image_attrs(name)), "")
    if not image or not supported(host):
        yield None
        return
    started = time.monotonic()
    # The engine machine's cgroup filesystem, read-write: the only way into BuildKit's step
    # cgroups. Safe because this is the tutor's own container, running the tutor's script above
    # with no network and no learner code; a learner's container never gets a host folder.
    cgroups = docker.types.Mount(MOUNT, "/sys/fs/cgroup", type="bind", read_only=False)
    sandbox = Sandbox(memory_mb=_MEMORY_MB, cpus=_CPUS, pids=_PIDS, learner=False)
    command = [*_SCRIPTS[image], str(pids), str(memory_mb * 2**20)]
    with host.container(image, command, sandbox=sandbox, exercise_id=exercise_id, mounts=[cgroups]) as warden:
        _wait_ready(warden)
        yield StepWarden(pids, memory_mb, time.monotonic() - started)


def _wait_ready(warden: object) -> None:
    """Until the warden's first pass is done (it prints `ready`): only then may the build start."""
    deadline = time.monotonic() + READY_SECONDS
    while True:
        logs = warden.logs(stdout=True, stderr=False)  # type: ignore[attr-defined]
        if b"ready" in logs:
            return
        warden.reload()  # type: ignore[attr-defined]
        if warden.status not in ("created", "running") or time.monotonic() > deadline:  # type: ignore[attr-defined]
            raise TutorError(
                "the tutor could not start the watch that holds BuildKit's build steps to their process and "
                f"memory limits (its container is {warden.status})",  # type: ignore[attr-defined]
                hint="Try again; if it persists, build with the classic builder (--builder classic).",
            )
        time.sleep(0.02)
