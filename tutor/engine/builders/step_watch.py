"""What the running step of a classic build has written: bytes and files, in its layer and its volumes.

The engine measures a step container's writable layer (`SizeRw`) and lists its changed paths
(`GET /containers/{id}/changes`). After a `VOLUME` instruction, what a step writes under that path
goes to an anonymous volume instead, which neither of those sees and which the engine removes with
the step container: a step could fill the disk there and leave no trace in the image. So when a
step container has volumes, a small reader container (a trusted image) mounts them read-only and
measures them (`du`, `find`); it holds them while it lives, so the engine's removal of the step
container leaves them (a volume in use is kept), and they are measured once more when the step is
over, then removed. Nothing here reads the host's filesystem: the engine may be on another machine.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import docker.types

from tutor.engine.builders.limits import FILE_POLL_SECONDS, human, max_added_bytes, max_build_files
from tutor.engine.probers import PROBER_IMAGES, PROBER_SANDBOX

if TYPE_CHECKING:
    from tutor.engine.dockerhost import DockerHost

_MOUNTED = "/.docker-tutor-volumes"
# One line: kilobytes in use, then files and folders (each volume's root not counted).
_MEASURE = f"du -sk {_MOUNTED} | cut -f1; find {_MOUNTED} -mindepth 2 | wc -l"
_PATH_KEY = b'{"Path":'  # one per changed path in the engine's JSON answer


# Files of the engine's machine bind-mounted into every container (a build step's too), writable by
# its root: in neither the layer nor a volume, so measured on their own.
ENGINE_FILES = ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf")


@dataclass(slots=True)
class Written:
    """What one container has written, as last measured."""

    container_id: str
    started: float
    running: bool = True
    layer_bytes: int = 0
    layer_files: int = 0
    volumes: dict[str, str] = field(default_factory=dict)  # volume name -> where the step sees it
    volume_bytes: int = 0
    volume_files: int = 0
    reader: Any = None  # the reader container that holds and measures the volumes
    held: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)  # the reader, until released
    next_files_check: float = 0.0
    engine_bytes: int = 0  # in the engine's files bind-mounted into it (ENGINE_FILES)
    next_engine_check: float = 0.0


class StepWatch:
    """Measures the running step each time it is asked (`over_limit`), and the step's volumes once
    more when it is over (`step_over`), then removes its reader and those volumes; `close` removes
    what is still held when the build ends."""

    def __init__(self, host: DockerHost, exercise_id: str, *, engine_files_every: float = FILE_POLL_SECONDS) -> None:
        """engine_files_every: seconds between two stats of the engine's files (ENGINE_FILES), three
        requests each; 0: at every look. A build step's first look is at its start, where they hold
        what the engine wrote; the file-size limit caps each at the budget between two looks."""
        self.host = host
        self.exercise_id = exercise_id
        self.engine_files_every = engine_files_every
        self._step: Written | None = None
        self.volumes: list[str] = []  # the volumes a reader holds now (a killed tutor's note names them)

    def over_limit(self, container_id: str) -> str:
        """Why the running step must stop now ("" if it may go on)."""
        if self._step is None or self._step.container_id != container_id:
            over = self.step_over()
            if over:
                return over
        step = self.measure(container_id)
        return _verdict(step) if step is not None else ""

    def measure(self, container_id: str, attrs: dict[str, Any] | None = None) -> Written | None:
        """What the container has written so far (its layer and its volumes; its changed paths at
        most every FILE_POLL_SECONDS); None once it is gone. attrs: its inspect with size, if the
        caller has just made one."""
        if self._step is None or self._step.container_id != container_id:
            now = time.monotonic()
            self._step = Written(
                container_id, now, next_files_check=now + FILE_POLL_SECONDS, next_engine_check=now + self.engine_files_every
            )
        step = self._step
        attrs = attrs if attrs is not None else inspect_with_size(self.host.api, container_id)
        if attrs is None:
            return None  # the step is over: what it left in a volume is measured by step_over
        step.running = bool((attrs.get("State") or {}).get("Running"))
        step.layer_bytes = int(attrs.get("SizeRw") or 0)
        if time.monotonic() >= step.next_engine_check:
            step.engine_bytes = engine_files_bytes(self.host.api, container_id)
            step.next_engine_check = time.monotonic() + self.engine_files_every
        volumes = {m["Name"]: m.get("Destination", "") for m in attrs.get("Mounts") or [] if m.get("Type") == "volume" and m.get("Name")}
        if volumes and step.reader is None:
            step.volumes = volumes
            step.reader = self._hold(step)
        if step.reader is not None:
            self._measure_volumes(step)
        if time.monotonic() >= step.next_files_check:
            # The engine compares the whole layer with its parents: seconds for a large one, so less often.
            step.layer_files = changed_paths(self.host.api, container_id, stop_at=max_build_files() + 1)
            step.next_files_check = time.monotonic() + FILE_POLL_SECONDS
        return step

    def step_over(self) -> str:
        """The step that was running has ended: measure what it left in its volumes, once."""
        step, self._step = self._step, None
        if step is None or step.reader is None:
            return ""
        self._measure_volumes(step)
        self._release(step)
        return _verdict(step)

    def close(self) -> None:
        step, self._step = self._step, None
        if step is not None:
            self._release(step)
        for name in list(self.volumes):  # a reader that was being started when its step ended
            with contextlib.suppress(Exception):
                self.host.api.remove_volume(name, force=True)
            self.volumes.remove(name)

    def _hold(self, step: Written) -> Any:
        image = next((name for name in PROBER_IMAGES if self.host.image_attrs(name)), "")
        if not image:
            return None
        names = list(step.volumes)
        mounts = [
            docker.types.Mount(f"{_MOUNTED}/{i}", name, type="volume", read_only=True, no_copy=True)
            for i, name in enumerate(names)
        ]
        self.volumes.extend(names)
        try:
            return step.held.enter_context(
                self.host.container(image, ["sleep", "3600"], sandbox=PROBER_SANDBOX, exercise_id=self.exercise_id, mounts=mounts)
            )
        except Exception:
            return None  # the step was already over and its volumes gone: nothing left to hold

    def _release(self, step: Written) -> None:
        """Remove the step's reader, then the volumes it held (the step container is gone by now)."""
        with contextlib.suppress(Exception):
            step.held.close()
        for name in step.volumes:
            with contextlib.suppress(Exception):
                self.host.api.remove_volume(name, force=True)
            with contextlib.suppress(ValueError):
                self.volumes.remove(name)

    def _measure_volumes(self, step: Written) -> None:
        with contextlib.suppress(Exception):
            code, output = step.reader.exec_run(["sh", "-c", _MEASURE], user="0:0")
            kilobytes, files = (int(word) for word in output.split()[:2])
            if code == 0:
                step.volume_bytes, step.volume_files = kilobytes * 1024, files


def _verdict(step: Written) -> str:
    where = ", ".join(f"VOLUME {path}" for path in sorted(set(step.volumes.values())))
    total = step.layer_bytes + step.volume_bytes + step.engine_bytes
    if total > max_added_bytes():
        part = (
            f" ({human(step.volume_bytes)} of it under {where}: what a step writes there never reaches the image, "
            "the volume is thrown away after the step)"
            if step.volume_bytes
            else ""
        )
        if step.engine_bytes > 10**6:
            part += f" ({human(step.engine_bytes)} of it in {', '.join(ENGINE_FILES)}: the engine's files, in no layer)"
        return (
            f"a build step wrote {human(total)}{part}, over the {human(max_added_bytes())} an exercise's image "
            "may add, and the build was stopped"
        )
    files = step.layer_files + step.volume_files
    if files > max_build_files():
        part = f" ({step.volume_files:,} of them under {where}, thrown away after the step)" if step.volume_files else ""
        return (
            f"a build step made {files:,} files and folders{part}, over the {max_build_files():,} an exercise's "
            "build may make, and the build was stopped"
        )
    return ""


def held_volumes(container: dict[str, Any]) -> list[str]:
    """The step volumes a reader container holds (from the engine's container list or inspect)."""
    return [
        str(mount["Name"])
        for mount in container.get("Mounts") or []
        if mount.get("Type") == "volume" and mount.get("Name") and str(mount.get("Destination", "")).startswith(f"{_MOUNTED}/")
    ]


def inspect_with_size(api: Any, container_id: str) -> dict[str, Any] | None:
    with contextlib.suppress(Exception):
        response = api._get(api._url("/containers/{0}/json", container_id), params={"size": 1})
        return dict(api._result(response, True))
    return None


def changed_paths(api: Any, container_id: str, *, stop_at: int) -> int:
    """How many paths a container changed (the engine's `docker diff`), read as a stream and no
    further than stop_at: a step that made a million files would otherwise answer with megabytes."""
    found = 0
    with contextlib.suppress(Exception):
        response = api._get(api._url("/containers/{0}/changes", container_id), stream=True)
        try:
            if response.status_code != 200:
                return 0
            tail = b""
            for chunk in response.iter_content(65536):
                data = tail + chunk
                found += data.count(_PATH_KEY)
                tail = data[-(len(_PATH_KEY) - 1) :]
                if found >= stop_at:
                    break
        finally:
            response.close()
    return found


def engine_files_bytes(api: Any, container_id: str) -> int:
    """The size of the engine's files in the container, from the engine's stat of each
    (HEAD /containers/{id}/archive: no content is read)."""
    total = 0
    for path in ENGINE_FILES:
        with contextlib.suppress(Exception):
            response = api.head(api._url("/containers/{0}/archive", container_id), params={"path": path}, timeout=10)
            header = response.headers.get("X-Docker-Container-Path-Stat", "")
            if response.status_code == 200 and header:
                total += int(json.loads(base64.b64decode(header)).get("size") or 0)
    return total
