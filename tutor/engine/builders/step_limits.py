"""The limits the engine holds a classic build's steps to together: processes and memory.

The build API's `cgroupparent` puts each step container's cgroup under another. The tutor starts a
small holder container with the build's pids and memory limits and gives the holder's own cgroup as
the parent: the limits are hierarchical, so every step of the build stays within them. The holder
watches its cgroup's process count and exits when it reaches the limit, which stops the build at
once (a fork bomb held to a pids limit would otherwise spin until the build's deadline).

This works where the engine runs cgroup v1 with the cgroupfs driver (a cgroup parent is a plain
path there). BuildKit ignores `cgroupparent`: its steps get these limits from step_warden.py. Under
cgroup v2 a cgroup with a process in it cannot have children with limits, and the systemd driver
takes only slices: there, builds keep their memory limit per step, their disk limit and their
deadline.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutor.engine.dockerhost import DockerHost

# What a step prints when a fork is refused: busybox, dash, bash, Python.
FORK_REFUSED = re.compile(
    r"can't fork|Cannot fork|fork: retry|fork: Resource temporarily unavailable|BlockingIOError: \[Errno 11\]"
)
EXIT_PIDS = 3  # the holder's exit code when the build reached its process limit
# The count is hierarchical (the steps' processes are charged to the holder's cgroup too), but a
# refused fork is counted in the step's own pids.events: so the holder watches for the count
# reaching the limit. It never forks while it watches.
_WATCH = {
    "python:3.11-slim": [
        "python3", "-c",
        "import time\n"
        "d = '/sys/fs/cgroup/pids/'\n"
        "limit = int(open(d + 'pids.max').read())\n"
        "while int(open(d + 'pids.current').read()) < limit:\n"
        " time.sleep(0.2)\n"
        f"raise SystemExit({EXIT_PIDS})\n",
    ],
    "busybox": [
        "sh", "-c",
        "d=/sys/fs/cgroup/pids; read m < $d/pids.max; "
        f"while read c < $d/pids.current && [ $c -lt $m ]; do sleep 0.2; done; exit {EXIT_PIDS}",
    ],
}


@dataclass(slots=True)
class StepLimits:
    """A holder's cgroup for a build's steps; `tripped` is set when they reached the process limit."""

    cgroup_parent: str
    pids: int
    tripped: threading.Event = field(default_factory=threading.Event)

    def reached(self, log: str = "") -> bool:
        """Did the build reach its process limit? The holder sees a build that stays there; a step
        that gave up at once (a shell exits when a fork fails) says so in its log."""
        return self.tripped.is_set() or bool(FORK_REFUSED.search(log))


def supported(host: DockerHost) -> bool:
    """Whether this engine honours a cgroup parent with limits for classic build steps."""
    if host.is_podman():
        return False
    info = host.info()
    return str(info.get("CgroupVersion", "1")) == "1" and info.get("CgroupDriver") == "cgroupfs"


@contextlib.contextmanager
def step_limits(host: DockerHost, *, pids: int, memory_mb: int, exercise_id: str = "") -> Iterator[StepLimits | None]:
    """A holder with these limits while the block runs (None where the engine cannot give them)."""
    from tutor.engine.driver import Sandbox

    image = next((name for name in _WATCH if host.image_attrs(name)), "")
    if not image or not supported(host):
        yield None
        return
    cpus = float(host.info().get("NCPU") or 1)  # no CPU cap beyond the machine's: a build may use every core
    sandbox = Sandbox(memory_mb=memory_mb, cpus=cpus, pids=pids, learner=False)
    with host.container(image, _WATCH[image], sandbox=sandbox, exercise_id=exercise_id) as holder:
        # With the cgroupfs driver a container's cgroup is its parent's path (the engine's default
        # is /docker) and its id.
        parent = (holder.attrs.get("HostConfig") or {}).get("CgroupParent") or "/docker"
        limits = StepLimits(f"{parent.rstrip('/')}/{holder.id}", pids)
        threading.Thread(target=_watch, args=(holder, limits), name="build-pids", daemon=True).start()
        yield limits


def _watch(holder: object, limits: StepLimits) -> None:
    with contextlib.suppress(Exception):
        # No read timeout: the wait ends when the holder exits or is removed with the build.
        if holder.wait(timeout=None)["StatusCode"] == EXIT_PIDS:  # type: ignore[attr-defined]
            limits.tripped.set()
