"""The Driver of tutor/engine/driver.py over a connected engine: the only way checks reach it."""

from __future__ import annotations

import contextlib
import functools
import io
import stat
import tarfile
import threading
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

import docker.errors

from tutor.engine.builders.outcome import BuildOutcome
from tutor.engine.compose.builds import ServiceBuild, build_service
from tutor.engine.compose.policy import Limits
from tutor.engine.compose.project import ComposeProject, sweep_leftovers
from tutor.engine.dockerhost import DockerHost, engine_errors
from tutor.engine.driver import FileEntry, ImageFacts, RunOutcome, Sandbox, ServiceState
from tutor.engine.probers import Prober
from tutor.engine.sanitize import clean_text


class EngineDriver:
    """One built image of one exercise on one engine; everything it starts carries the tutor's labels."""

    def __init__(self, host: DockerHost, image: str, exercise_id: str) -> None:
        self._host = host
        self._image = image
        self._exercise_id = exercise_id
        self._facts: ImageFacts | None = None

    def facts(self) -> ImageFacts:
        if self._facts is None:
            attrs = self._host.image_attrs(self._image) or {}
            layers = (attrs.get("RootFS") or {}).get("Layers") or []
            self._facts = ImageFacts(config=attrs.get("Config") or {}, size=attrs.get("Size", 0), layers=len(layers))
        return self._facts

    def history(self) -> list[str]:
        return [entry.get("CreatedBy", "") for entry in self._host.history(self._image)]

    def read_file(self, path: str, limit: int) -> FileEntry | None:
        with self._host.container(self._image, start=False, exercise_id=self._exercise_id) as container:
            with engine_errors(f"reading {path} from the image"):
                try:
                    archive = _archive_head(self._host.api, container.id, path, limit)
                except docker.errors.NotFound:
                    return None
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            member = tar.next()
            if member is None:
                return None
            handle = tar.extractfile(member) if member.isfile() else None
            contents = handle.read(limit) if handle is not None else None
            uid, gid = member.uid, member.gid
        if self._host.is_podman():  # its archive says every file is the container user's
            uid, gid = self._host.podman_file_owner(self._image, path, exercise_id=self._exercise_id) or (uid, gid)
        return FileEntry(mode=_mode(member), uid=uid, gid=gid, contents=contents)

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
        return self._host.run(
            self._image,
            command,
            entrypoint=entrypoint,
            environment=environment,
            user=user,
            timeout=timeout,
            sandbox=sandbox,
            exercise_id=self._exercise_id,
        )

    @contextlib.contextmanager
    def service(self, *, sandbox: Sandbox = Sandbox()) -> Iterator[ContainerService]:
        with self._host.container(self._image, sandbox=sandbox, exercise_id=self._exercise_id) as container:
            yield ContainerService(container, self._host, self._exercise_id)

    @contextlib.contextmanager
    def http_service(self, port: int, *, sandbox: Sandbox = Sandbox()) -> Iterator[ServedContainer]:
        with self._host.served(self._image, port, sandbox=sandbox, exercise_id=self._exercise_id) as (container, prober):
            yield ServedContainer(container, self._host, self._exercise_id, prober)

    def engine_kernel(self) -> str:
        return str(self._host.version().get("KernelVersion", ""))

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
        sweep_leftovers(self._host.api)  # what a killed tutor's projects left: networks, volumes, images
        return ComposeProject(
            directory,
            engine_url=self._host.engine_url,
            engine=self._host.api,
            exercise_id=self._exercise_id,
            limits=limits,
            build_network=build_network,
            timeout=timeout,
            cancel=cancel,
            keep_images=keep_images,
            allowed_images=allowed_images,
            prober=functools.partial(self._host.prober, exercise_id=self._exercise_id),
            builder=self._service_builder(build_memory_mb, buildkit_taught),
        )

    def _service_builder(self, memory_mb: int, buildkit_taught: bool) -> Callable[[ServiceBuild, float, threading.Event], BuildOutcome]:
        def build(service: ServiceBuild, timeout: float, cancel: threading.Event) -> BuildOutcome:
            return build_service(
                self._host, service, exercise_id=self._exercise_id, memory_mb=memory_mb, timeout=timeout, cancel=cancel,
                buildkit_taught=buildkit_taught,
            )

        return build


class ContainerService:
    """A started container, seen through the Service protocol."""

    def __init__(self, container: Any, host: DockerHost, exercise_id: str) -> None:
        self._container = container
        self._host = host
        self._exercise_id = exercise_id

    def state(self) -> ServiceState:
        with engine_errors("inspecting the container"):
            self._container.reload()
        state = self._container.attrs.get("State") or {}
        health = state.get("Health") or {}
        last = (health.get("Log") or [{}])[-1]
        return ServiceState(
            running=self._container.status == "running",
            exit_code=state.get("ExitCode", 0),
            health=health.get("Status", ""),
            health_exit_code=last.get("ExitCode"),
            health_output=clean_text(last.get("Output", "")),
        )

    def logs(self, tail: int = 40) -> str:
        # Only shown next to a verdict already reached: an engine hiccup here must not change it.
        with contextlib.suppress(docker.errors.DockerException, OSError):
            return clean_text(self._container.logs(tail=tail))
        return ""

    def main_process_status(self) -> str | None:
        return self._host.main_process_status(self._container.id, exercise_id=self._exercise_id)

    def stop(self, grace: int) -> None:
        with engine_errors("stopping the container"):
            self._container.stop(timeout=grace)


class ServedContainer(ContainerService):
    """A started server and the prober that is its only client, seen through the HttpService protocol."""

    def __init__(self, container: Any, host: DockerHost, exercise_id: str, prober: Prober) -> None:
        super().__init__(container, host, exercise_id)
        self._prober = prober

    def request(self, method: str, path: str, body: str = "", headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        return self._prober.request(method, path, body, headers)

    def listening(self) -> list[str]:
        return self._prober.listening()


def _mode(member: tarfile.TarInfo) -> int:
    kind = {tarfile.DIRTYPE: stat.S_IFDIR, tarfile.SYMTYPE: stat.S_IFLNK}.get(member.type, stat.S_IFREG)
    return kind | member.mode


def _archive_head(api: Any, container_id: str, path: str, limit: int) -> bytes:
    """The start of the path's tar stream: the first file's header and at most `limit` of its
    content. The response is closed at once: left open, the engine goes on writing the rest of a
    big file into it, and neither the container nor any image on the engine can be removed until
    the client gives up, a minute later."""
    response = api._get(api._url("/containers/{0}/archive", container_id), params={"path": path}, stream=True)
    try:
        api._raise_for_status(response)
        buffer = bytearray()
        for chunk in response.iter_content(65536):
            buffer += chunk
            if len(buffer) > limit + 1024:
                break
        return bytes(buffer[: limit + 1024]) + b"\0" * 1024
    finally:
        response.close()
