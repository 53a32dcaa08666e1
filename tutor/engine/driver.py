"""What a check may ask of the learner's image: the narrow driver every check talks to.

After container-structure-test's Driver: read a file, run a command, the image's config and
history, a service container to poke at. Plain data and protocols only: no engine SDK here, so
checks never see one (the implementation over the engine is tutor/engine/engine_driver.py).
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tutor.engine.compose.policy import Limits
    from tutor.engine.compose.project import ComposeProject


@dataclass(frozen=True, slots=True)
class Sandbox:
    """Limits for a learner's container; the defaults are the safe ones."""

    memory_mb: int = 256
    cpus: float = 1.0
    pids: int = 128
    network: bool = False
    cap_add: tuple[str, ...] = ()
    # A learner's container: while it runs, what it writes is held to a build's disk budget
    # (tutor/engine/container_watch.py). The tutor's own containers (probers, readers) are not watched.
    # Every container, watched or not, has no file over that budget (an fsize ulimit).
    learner: bool = True


@dataclass(frozen=True, slots=True)
class RunOutcome:
    exit_code: int | None
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False
    oom_killed: bool = False

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """The built image as `docker image inspect` and `docker history` describe it."""

    config: dict[str, Any] = field(default_factory=dict)  # Config: Env, Labels, User, Healthcheck, ...
    size: int = 0  # bytes
    layers: int = 0


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One path in the image, as the engine's archive of it says."""

    mode: int  # st_mode: type and permission bits
    uid: int
    gid: int
    contents: bytes | None  # the first bytes of a regular file (up to the limit asked); None otherwise


@dataclass(frozen=True, slots=True)
class ServiceState:
    running: bool
    exit_code: int
    health: str = ""  # "", "starting", "healthy" or "unhealthy"
    health_exit_code: int | None = None  # of the last health probe
    health_output: str = ""


class Service(Protocol):
    """A started container a check pokes at; removed when the `with` block ends."""

    def state(self) -> ServiceState: ...

    def logs(self, tail: int = 40) -> str: ...

    def main_process_status(self) -> str | None:
        """/proc/1/status of the container's main process (Name, SigCgt, ...); None when unreadable."""
        ...

    def stop(self, grace: int) -> None:
        """docker stop: SIGTERM, then SIGKILL after `grace` seconds."""
        ...


class HttpService(Service, Protocol):
    """A started server with a client beside it on a network of their own (nothing else reaches it)."""

    def request(self, method: str, path: str, body: str = "", headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """(status, body) of one HTTP request to the server; ConnectionError when nothing answers."""
        ...

    def listening(self) -> list[str]:
        """The addresses the server listens on for the port, read from the kernel's socket tables."""
        ...


class Driver(Protocol):
    """The learner's built image, as checks may see it."""

    def facts(self) -> ImageFacts: ...

    def history(self) -> list[str]:
        """Each layer's CreatedBy (the build step that made it), newest first."""
        ...

    def read_file(self, path: str, limit: int) -> FileEntry | None:
        """The path's type, owner and first `limit` bytes, without starting the image; None if absent."""
        ...

    def run(
        self,
        command: list[str] | None = None,
        *,
        entrypoint: list[str] | None = None,
        environment: dict[str, str] | None = None,
        user: str | None = None,
        timeout: float = 20.0,
        sandbox: Sandbox = Sandbox(),
    ) -> RunOutcome:
        """Run the image to completion (killed at the deadline) in a sandboxed container."""
        ...

    def service(self, *, sandbox: Sandbox = Sandbox()) -> AbstractContextManager[Service]:
        """Start the image as a long-running container (no port published on this machine)."""
        ...

    def http_service(self, port: int, *, sandbox: Sandbox = Sandbox()) -> AbstractContextManager[HttpService]:
        """Start the image as a server whose `port` only a client of the tutor's can reach."""
        ...

    def engine_kernel(self) -> str:
        """The engine's kernel version: what `uname -r` prints in any container."""
        ...

    def compose_project(
        self,
        directory: Path,
        *,
        limits: Limits,
        build_network: bool,
        timeout: float,
        cancel: threading.Event,
        keep_images: bool,
        allowed_images: Collection[str] | None = None,
        build_memory_mb: int = 1024,
        buildkit_taught: bool = False,
    ) -> ComposeProject:
        """The folder's Compose project on this engine (not started: `with project.running()`);
        allowed_images: what its services and builds may start from; build_memory_mb and
        buildkit_taught: the exercise's [build] memory_mb and buildkit (its images are built by the
        tutor's builder, with a single build's limits)."""
        ...
