"""The limits BuildKit's build steps get: a warden container writes them into each step's cgroup.

The build API hands BuildKit neither `cgroupparent`, `memory` nor `ulimits`: on Engine 20.10 each
BuildKit step runs in a cgroup of its own, `<engine's cgroup parent>/buildkit/<id>` under every
controller, with no process or memory limit. Where the engine runs cgroup v1 with the cgroupfs
driver (step_limits.supported), the tutor runs a small warden container for the length of a
BuildKit build. It sees the engine machine's cgroup filesystem and, every 20 ms, gives every
BuildKit step cgroup it finds `pids.max` = the build's process limit and `memory.limit_in_bytes`
(and `memory.memsw.limit_in_bytes`) = the build's memory; the build starts once it said `ready`.

A step cgroup's name is BuildKit's, not the build's, so on a shared engine a warden cannot tell
its build's steps from another learner's. So every warden writes its figures to every step, and
never lowers one already written: concurrent wardens agree on the largest figure among them, and
no warden holds another learner's step below that learner's own limit, nor stops their build.
A step held at its process limit ends with its build's deadline (or when it gives up, as a shell
does when a fork fails); one over its memory is killed by the kernel, as under the classic builder.

The warden holds a step's disk too: every DISK_TICKS ticks it reads, from the step's mount table
(it sees the engine machine's processes), the writable layers the step has (its own, its cache
mounts) and measures them in the engine's data root, read-only, as `du` does. A step over the
budget is frozen (its freezer cgroup: no process of it can end and free its id meanwhile), each of
its processes killed, and told once: `disk ID KB`. The budget is never below the default, as
another learner's step may be this warden's to measure (limits.buildkit_step_bytes).

The warden also says which steps reached their process limit (a refused fork counts in the step's
own pids.events): `limit ID N` on its output, stamped by the engine, so a build whose step failed
can say why even when the step printed nothing. A step that gives up at its first refused fork
is gone within milliseconds, so while any step runs a quarter of its limit or more the warden looks
every 2 ms instead of every 20.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import docker.types

from tutor.errors import TutorError

if TYPE_CHECKING:
    from tutor.engine.dockerhost import DockerHost

MOUNT = "/host-cgroup"  # where the warden sees the engine machine's /sys/fs/cgroup
DISK_MOUNT = "/host-engine"  # where it sees the engine's data root (read-only), to measure steps' layers
DISK_TICKS = 10  # a step's disk is measured every this many ticks (0.2 s at the usual pace)
POLL_SECONDS = 0.02
SLEEP_POLL_SECONDS = 0.05  # where the shell has no pipe to pause on and each pause forks a `sleep`
NEAR_POLL_SECONDS = 0.002  # while a step runs a quarter of its process limit or more
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
# A step whose pids.events counts a refused fork is told once: `limit ID PIDS.MAX`. The shell
# pauses with a read that times out on a pipe no one writes: `sleep` would fork at every tick.
_SHELL = f"""
exec 2>/dev/null
P=$1 M=$2 D=$3 R={MOUNT} H={DISK_MOUNT} PB= MB= FB= TOLD= STOPPED= k=0
mkfifo /dev/shm/tick && exec 3<>/dev/shm/tick && Q=1
find_parents() {{
  for d in $R/pids/buildkit $R/pids/*/buildkit $R/pids/*/*/buildkit; do [ -d "$d" ] && PB="$PB $d"; done
  for d in $R/memory/buildkit $R/memory/*/buildkit $R/memory/*/*/buildkit; do [ -d "$d" ] && MB="$MB $d"; done
  for d in $R/freezer/buildkit $R/freezer/*/buildkit $R/freezer/*/*/buildkit; do [ -d "$d" ] && FB="$FB $d"; done
}}
below() {{ read v < "$1" && {{ [ "$v" = max ] || [ ${{#v}} -ge 19 ] || [ "$v" -lt "$2" ]; }}; }}
over() {{
  s=${{1%/}}; s=${{s##*/}}; p=
  read p < "${{1}}cgroup.procs"; [ -n "$p" ] || return
  t=0
  for u in $(awk '$6 ~ /^rw/' /proc/$p/mountinfo | grep -o 'overlay2/[^/ ,]*/diff' | sort -u); do
    set -- $(du -sk "$H/$u"); t=$((t + ${{1:-0}}))
  done
  [ $t -gt $D ] || return
  hit=
  for f in $FB; do
    f=$f/$s; [ -d $f ] || continue
    hit=1; echo FROZEN > $f/freezer.state; i=0
    while read x < $f/freezer.state && [ "$x" != FROZEN ] && [ $i -lt 200 ]; do i=$((i + 1)); done
    for q in $(cat $f/cgroup.procs); do kill -9 $q; done
    echo THAWED > $f/freezer.state
  done
  [ -n "$hit" ] && case "$STOPPED" in *" $s"*) ;; *) STOPPED="$STOPPED $s"; echo "disk $s $t";; esac
}}
while :; do
  [ -n "$PB" ] && [ -n "$MB" ] && [ -n "$FB" ] || {{ PB= MB= FB=; find_parents; }}
  near=
  k=$((k + 1)); [ $k -ge {DISK_TICKS} ] && k=0
  for b in $PB; do for d in $b/*/; do
    below "${{d}}pids.max" $P && echo $P > "${{d}}pids.max"
    [ $k = 0 ] && over "$d"
    read c < "${{d}}pids.current" && [ "$c" -ge $((P / 4)) ] && near=1
    read w n < "${{d}}pids.events" && [ "$n" != 0 ] && case "$TOLD" in *" $d"*) ;; *)
      TOLD="$TOLD $d"; s=${{d%/}}; read m < "${{d}}pids.max"; echo "limit ${{s##*/}} $m";; esac
  done; done
  for b in $MB; do for d in $b/*/; do
    f="${{d}}memory.limit_in_bytes"
    below "$f" $M && {{ echo $M > "$f"; echo $M > "${{d}}memory.memsw.limit_in_bytes"; echo $M > "$f"; }}
  done; done
  [ -n "$ready" ] || {{ echo ready; ready=1; }}
  t={POLL_SECONDS}; [ -n "$near" ] && t={NEAR_POLL_SECONDS}
  if [ -n "$Q" ]; then read -t $t -u 3 x; else sleep {SLEEP_POLL_SECONDS}; fi
done
"""
_PYTHON = f"""
import glob, os, re, signal, sys, time
pids, memory, disk = sys.argv[1], sys.argv[2], int(sys.argv[3])
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
def held(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""
def used(top):
    kilobytes, seen, folders = 0, set(), [top]
    while folders:
        try:
            entries = list(os.scandir(folders.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                kilobytes += info.st_blocks // 2
            if entry.is_dir(follow_symlinks=False):
                folders.append(entry.path)
    return kilobytes
def over(step):
    name = os.path.basename(step.rstrip("/"))
    procs = held(step + "cgroup.procs").split()
    try:
        with open(f"/proc/{{procs[0]}}/mountinfo") as f:
            lines = [line for line in f if line.split()[5:6] and line.split()[5].startswith("rw")]
    except (IndexError, OSError):
        return
    layers = {{layer for line in lines for layer in re.findall(r"overlay2/[^/ ,]+/diff", line)}}
    total = sum(used(f"{DISK_MOUNT}/{{layer}}") for layer in layers)
    if total <= disk:
        return
    frozen_steps = [p + "/" + name for p in parents["freezer"] if os.path.isdir(p + "/" + name)]
    for frozen in frozen_steps:
        write(frozen + "/freezer.state", "FROZEN")
        for _ in range(200):
            if held(frozen + "/freezer.state") == "FROZEN":
                break
        for pid in held(frozen + "/cgroup.procs").split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
        write(frozen + "/freezer.state", "THAWED")
    if frozen_steps and name not in stopped:
        stopped.add(name)
        print("disk", name, total, flush=True)
parents = {{}}
ready = False
told, stopped, tick = set(), set(), 0
while True:
    near = False
    tick = (tick + 1) % {DISK_TICKS}
    for controller in ("pids", "memory", "freezer"):
        if not parents.get(controller):
            parents[controller] = [d for depth in ("", "*/", "*/*/")
                                   for d in glob.glob(f"{MOUNT}/{{controller}}/{{depth}}buildkit") if os.path.isdir(d)]
    for step in [s for p in parents["pids"] for s in glob.glob(p + "/*/")]:
        if below(step + "pids.max", pids):
            write(step + "pids.max", pids)
        if tick == 0:
            over(step)
        current = held(step + "pids.current")
        near = near or (current.isdigit() and int(current) >= int(pids) // 4)
        refused = held(step + "pids.events").split()[-1:]
        if refused and refused[0] != "0" and step not in told:
            told.add(step)
            print("limit", os.path.basename(step.rstrip("/")), held(step + "pids.max"), flush=True)
    for step in [s for p in parents["memory"] for s in glob.glob(p + "/*/")]:
        if below(step + "memory.limit_in_bytes", memory):
            for name in ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.limit_in_bytes"):
                write(step + name, memory)
    if not ready:
        print("ready", flush=True)
        ready = True
    time.sleep({NEAR_POLL_SECONDS} if near else {POLL_SECONDS})
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
    container: Any = field(default=None, repr=False, compare=False)  # the warden's, to read what it saw

    def limit_reached(self, started: float, ended: float) -> int:
        """The process limit a step reached while it ran between these times (seconds since the
        epoch, as BuildKit stamps a step), as this warden told it; 0 if none did."""
        return self._told("limit", started, ended)

    def disk_stopped(self, started: float, ended: float) -> int:
        """The bytes a step had written when this warden stopped it for the disk budget, while it
        ran between these times; 0 if it stopped none."""
        return self._told("disk", started, ended) * 1024

    def _told(self, what: str, started: float, ended: float) -> int:
        """The figure of the warden's first `WHAT ID FIGURE` line stamped between these times.

        A step cgroup's name is BuildKit's, so the time is what ties a report to this build's step:
        the warden tells of a step before the step can end (it reads the step's own cgroup), and
        the engine stamps the line as it receives it."""
        if self.container is None:
            return 0
        with contextlib.suppress(Exception):
            logs = self.container.logs(stdout=True, stderr=False, timestamps=True).decode("utf-8", "replace")
            for line in logs.splitlines():
                stamp, _, text = line.partition(" ")
                words = text.split()
                if len(words) == 3 and words[0] == what and words[2].isdigit():
                    if started - _CLOCK_SLACK <= _seconds(stamp) <= ended + _CLOCK_SLACK:
                        return int(words[2])
        return 0


_CLOCK_SLACK = 0.2  # seconds: the engine's stamp on a line comes a moment after the warden wrote it


def _seconds(stamp: str) -> float:
    """An engine's log timestamp (RFC 3339, nanoseconds, UTC) as seconds since the epoch."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(whole).replace(tzinfo=UTC).timestamp() + float(f"0.{fraction or 0}")


@contextlib.contextmanager
def step_warden(host: DockerHost, *, pids: int, memory_mb: int, exercise_id: str = "") -> Iterator[StepWarden | None]:
    """A warden holding BuildKit's steps to these limits, and to the build's disk budget, while the
    block runs (None where the engine cannot give them: cgroup v2, the systemd driver, Podman, rootless)."""
    from tutor.engine.builders.limits import buildkit_step_bytes
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
    # The engine's data root, read-only and without the mounts under it (the running containers'):
    # where a step's writable layers are, to measure. The engine machine's processes (pid "host")
    # are how a step's mounts are found; KILL stops a step over the budget whatever its user, and
    # DAC_READ_SEARCH measures folders a step made unreadable.
    engine_root = docker.types.Mount(DISK_MOUNT, host.info()["DockerRootDir"], type="bind", read_only=True)
    engine_root["BindOptions"] = {"NonRecursive": True}
    sandbox = Sandbox(memory_mb=_MEMORY_MB, cpus=_CPUS, pids=_PIDS, cap_add=("KILL", "DAC_READ_SEARCH"), learner=False)
    command = [*_SCRIPTS[image], str(pids), str(memory_mb * 2**20), str(buildkit_step_bytes() // 1024)]
    with host.container(
        image, command, sandbox=sandbox, exercise_id=exercise_id, mounts=[cgroups, engine_root], pid_mode="host"
    ) as warden:
        _wait_ready(warden)
        yield StepWarden(pids, memory_mb, time.monotonic() - started, warden)


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
