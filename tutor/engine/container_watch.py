"""Holds a learner's running container to the disk budget of a build: what it writes while it runs.

A build step is held to what an exercise's image may add (builders/limits.py); a container the
checks start (the image's CMD, a `command`, a service) writes to the same engine's disk, so it is
held to the same figures. Each file is capped by an `fsize` ulimit (dockerhost.sandbox_kwargs); the
total is watched here, measured as a build step's is (builders/step_watch.py): its writable layer
(`SizeRw`), the anonymous volumes its image's VOLUME lines give it, its changed paths, and the
engine's own files it may write (/etc/hosts, /etc/hostname, /etc/resolv.conf: files of the engine's
machine, in neither the layer nor a volume). A first look after FIRST_LOOK_SECONDS, then one every
LOOK_EVERY_SECONDS, and a last one as the check is done with it (one inspect: a container that
wrote its all between two looks is judged too). A running container over the budget is killed,
and the check that started it fails saying why (ContainerOverBudget); one found over it only after
it ended fails its check the same way, told as what it wrote before it ended.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import TYPE_CHECKING, Any

from tutor.engine.builders.limits import FILE_TOO_LARGE, human, max_added_bytes, max_build_files
from tutor.engine.builders.step_watch import ENGINE_FILES, StepWatch, Written, inspect_with_size
from tutor.errors import TutorError

if TYPE_CHECKING:
    from types import TracebackType

    from tutor.engine.dockerhost import DockerHost

FIRST_LOOK_SECONDS = 1.5
LOOK_EVERY_SECONDS = 3.0
ADVICE = (
    "Write big outputs to a volume the exercise declares, or don't write them: a container the tutor "
    "starts shares the engine's disk with every other learner's."
)


class ContainerOverBudget(TutorError):
    """A learner's container wrote more than its budget: it was stopped, or had already ended."""


class ContainerWatch:
    """Watches one started container from a thread of its own until the `with` block ends;
    `stopped_why` says why it was killed ("" when it was not)."""

    def __init__(self, host: DockerHost, container_id: str, exercise_id: str = "") -> None:
        self._host = host
        self._container_id = container_id
        # Its engine files at every look: the last one, as it ends, must see what it wrote there too.
        self._measure = StepWatch(host, exercise_id, engine_files_every=0.0)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"watch-{container_id[:12]}", daemon=True)
        self.stopped_why = ""
        self._judged = False  # judged as it ended (__exit__): nothing more to look at

    def __enter__(self) -> ContainerWatch:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._done.set()
        self._thread.join()
        if not self.stopped_why:
            # Once more as it ends, before it is removed: a container that wrote its all between two
            # looks, or before the first, is judged by what it wrote. One inspect, with the layer's
            # size, serves both the file-size limit's look and the measure.
            attrs = inspect_with_size(self._host.api, self._container_id)
            if attrs is not None:
                self.stopped_why = self._file_limit_why(attrs)
                written = None if self.stopped_why else self._measure.measure(self._container_id, attrs)
                self.stopped_why = self.stopped_why or (over_budget(written) if written is not None else "")
            self._judged = True
        self._measure.close()  # the reader of its volumes, if one was started

    def raise_if_over(self) -> None:
        """Raise ContainerOverBudget if the container was stopped, or if the kernel refused it a write
        past the file-size limit: a container done before the first look, or one whose shell went on
        after its writer was killed, is judged by that, not by what it printed or its exit code."""
        if not self.stopped_why and not self._judged:
            self.stopped_why = self._file_limit_why()
        if self.stopped_why:
            raise ContainerOverBudget(self.stopped_why, hint=ADVICE)

    def _file_limit_why(self, attrs: dict[str, Any] | None = None) -> str:
        if not file_limit_reached(self._host.api, self._container_id, attrs):
            return ""
        return (
            f"a file the container wrote reached {human(max_added_bytes())}, the most one file may hold "
            "(as much as a build may add to an image), and the write was refused"
        )

    def _watch(self) -> None:
        wait = FIRST_LOOK_SECONDS
        while not self._done.wait(wait):
            wait = LOOK_EVERY_SECONDS
            written = self._measure.measure(self._container_id)
            if written is None:
                return
            why = over_budget(written)
            if why:
                self.stopped_why = why
                with contextlib.suppress(Exception):
                    self._host.api.kill(self._container_id)
                return
            if not written.running:
                return


def over_budget(written: Written) -> str:
    """Why a container that has written this must be stopped ("" when it may go on). One that had
    already ended when it was measured (the last look, as its check is done with it) is not said to
    have been stopped: it wrote more than its budget before it ended."""
    ended = "" if written.running else " before it ended"
    stopped = ", and it was stopped" if written.running else ""
    total = written.layer_bytes + written.volume_bytes + written.engine_bytes
    if total > max_added_bytes():
        parts = [f"{human(written.layer_bytes)} in its own files"] if written.layer_bytes > 10**6 else []
        if written.volume_bytes:
            where = ", ".join(sorted(set(written.volumes.values())))
            parts.append(f"{human(written.volume_bytes)} on its volumes ({where})")
        if written.engine_bytes > 10**6:
            parts.append(f"{human(written.engine_bytes)} in {', '.join(ENGINE_FILES)}")
        return (
            f"the container wrote {human(total)} ({'; '.join(parts)}){ended}, over the {human(max_added_bytes())} "
            f"a learner's container may write (as much as a build may add to an image){stopped}"
        )
    files = written.layer_files + written.volume_files
    if files > max_build_files():
        return (
            f"the container made {files:,} files and folders{ended}, over the {max_build_files():,} a learner's "
            f"container may make (as many as a build may add){stopped}"
        )
    return ""


def file_limit_reached(api: Any, container_id: str, attrs: dict[str, Any] | None = None) -> bool:
    """The container's main process was killed by SIGXFSZ (exit code 153), or its output shows a
    write refused for the file-size limit (EFBIG: what a process that ignores the signal gets).
    attrs: the container's inspect, if the caller has it."""
    with contextlib.suppress(Exception):
        attrs = attrs if attrs is not None else api.inspect_container(container_id)
        state = attrs.get("State") or {}
        if not state.get("Running") and state.get("ExitCode") == 128 + signal.SIGXFSZ:
            return True
        # The logs endpoint as the SDK's logs() reads it, less the inspect it makes to learn of a TTY.
        response = api._get(api._url("/containers/{0}/logs", container_id), params={"stdout": 1, "stderr": 1, "tail": 200})
        tail = api._get_result_tty(False, response, bool((attrs.get("Config") or {}).get("Tty")))
        return bool(FILE_TOO_LARGE.search(tail.decode(errors="replace")))
    return False
