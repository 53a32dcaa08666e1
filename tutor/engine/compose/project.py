"""Run a learner's Compose file with the real Compose CLI, sandboxed, and always take it down.

The CLI is `docker compose` where the docker CLI has the plugin, `docker-compose` otherwise; it
talks to the engine the tutor is connected to (DOCKER_HOST). The file is normalized by
`compose config`, checked and hardened by tutor.engine.compose.policy, and the hardened copy is
what runs, under a project name unique to this check and labelled so that a sweep finds the
leftovers of a tutor that was killed. Its builds and images follow the rules of a single build,
and its images are built by the tutor's own builder with a single build's limits
(tutor.engine.compose.builds): Compose only starts them (`up --no-build`). Its networks reach
nothing outside the project and publish no port: a check reaches a service through a prober
container the tutor adds to the service's network.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tutor.engine.builders.outcome import BuildOutcome
from tutor.engine.compose.builds import ServiceBuild, build_failure, image_refusals, service_builds
from tutor.engine.compose.policy import Limits, file_refusals, harden, refusals
from tutor.engine.dockerhost import (
    EXERCISE_LABEL,
    HOST_LABEL,
    MANAGED_LABEL,
    SESSION_ID,
    SESSION_LABEL,
    _alive,
    _process_space,
)
from tutor.engine.learner_files import SMALL_FILE_LIMIT, LearnerFileRefused, read_learner_file
from tutor.engine.owner import OWNER_LABEL, owner_id, tag_secret
from tutor.engine.sanitize import clean_text
from tutor.errors import TutorError

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from tutor.engine.dockerhost import Prober

# Builds one service's image within the seconds given, or until the event is set.
ServiceBuilder = Callable[[ServiceBuild, float, threading.Event], BuildOutcome]

PROJECT_PREFIX = "docker-tutor-"
COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
DOWN_TIMEOUT = 90.0
POLL = 0.2


class EngineApi(Protocol):
    """What a running project is seen through: read-only calls of the engine's API, and removing
    the images it built (docker.APIClient has them). Everything else goes through Compose."""

    def containers(self, *, all: bool, filters: dict[str, Any]) -> list[dict[str, Any]]: ...

    def inspect_container(self, container: str) -> dict[str, Any]: ...

    def logs(self, container: str, *, tail: int) -> bytes: ...

    def inspect_image(self, image: str) -> dict[str, Any]: ...

    def remove_image(self, image: str) -> None: ...


class ComposeError(TutorError):
    """Compose refused the file, or could not bring the project up; the message says why."""


@functools.cache
def compose_cli() -> tuple[str, ...] | None:
    """The Compose command on this machine: the docker CLI plugin first, then docker-compose."""
    if shutil.which("docker"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            probe = subprocess.run(["docker", "compose", "version"], check=False, capture_output=True, timeout=20)
            if probe.returncode == 0:
                return ("docker", "compose")
    if shutil.which("docker-compose"):
        return ("docker-compose",)
    return None


def compose_file(folder: Path, name: str = "") -> Path:
    """The Compose file in `folder`: `name` if given, else the first of Compose's default names."""
    candidates = (name,) if name else COMPOSE_FILES
    for candidate in candidates:
        if (folder / candidate).is_file():
            return folder / candidate
    raise ComposeError(f"there is no {candidates[0]} in your folder: write your Compose file there")


def labels(exercise_id: str) -> dict[str, str]:
    """What every container, network, volume and built image of a project carries (images: the
    stable ones), the owner id among them, so `clean` finds this user's and no one else's."""
    return {
        MANAGED_LABEL: "true", SESSION_LABEL: SESSION_ID, HOST_LABEL: _process_space(), EXERCISE_LABEL: exercise_id,
        OWNER_LABEL: owner_id(),
    }


class ComposeProject:
    """One run of a learner's Compose file. Use `running()`: it takes everything down afterwards."""

    def __init__(
        self,
        folder: Path,
        *,
        exercise_id: str,
        engine_url: str = "",
        engine: EngineApi | None = None,
        file: str = "",
        limits: Limits = Limits(),
        build_network: bool = False,
        timeout: float = 180.0,
        cancel: threading.Event | None = None,
        keep_images: bool = True,
        allowed_images: Collection[str] | None = None,
        prober: Callable[[str], AbstractContextManager[Prober]] | None = None,
        builder: ServiceBuilder | None = None,
    ) -> None:
        """allowed_images: what services and builds may start from (None: the built-in curriculum's
        base images). prober: starts a client container on a network (the http check's). builder:
        builds a service's image (the tutor's builder, with its limits)."""
        self.folder = folder.resolve()
        self.file = compose_file(self.folder, file)
        self.name = f"{PROJECT_PREFIX}{uuid.uuid4().hex[:12]}"
        self.exercise_id = exercise_id
        self.limits = limits
        self.build_network = build_network
        self.timeout = timeout
        self.cancel = cancel or threading.Event()
        self.keep_images = keep_images
        self._built: list[str] = []  # the image names given to services that build
        # Reading the file (`config`) needs no engine; running it needs both.
        self._engine_url = engine_url or os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        self._engine = engine
        self._workdir: Path | None = None
        self._allowed = allowed_images
        self._prober = prober
        self._builder = builder
        self._probers: dict[str, Prober] = {}  # network -> its prober, started on first use
        self._probe_lock = threading.Lock()
        self._stack = contextlib.ExitStack()

    # --- the CLI -----------------------------------------------------------------------------
    def _cli(self, *args: str, timeout: float, file: Path | None = None) -> subprocess.CompletedProcess[str]:
        cli = compose_cli()
        if cli is None:
            raise ComposeError(
                "Docker Compose is not installed",
                hint="Install the Compose plugin (docker compose) or docker-compose, then check again.",
            )
        # Only what Compose needs to run and reach the engine: a `${VAR}` in the learner's file is
        # filled from this environment (or the folder's own .env), and the tutor's may hold secrets.
        env = {name: os.environ[name] for name in _COMPOSE_ENVIRONMENT if name in os.environ}
        env["DOCKER_HOST"] = self._engine_url
        command = [*cli, "-f", str(file or self.file), "--project-directory", str(self.folder), "-p", self.name, *args]
        with subprocess.Popen(
            command, cwd=self.folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace"
        ) as process:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    stdout, stderr = process.communicate(timeout=POLL)
                    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
                except subprocess.TimeoutExpired:
                    # Ctrl-C or a deadline must not wait for a slow build: stop Compose, then `down`.
                    if self.cancel.is_set() or time.monotonic() > deadline:
                        process.kill()
                        process.communicate()
                        why = "was cancelled" if self.cancel.is_set() else f"did not finish within {timeout:.0f} s"
                        raise ComposeError(f"compose {args[0]} {why}") from None

    def _as_written(self) -> Any:
        """The learner's file as YAML, before Compose reads anything it names."""
        import yaml

        try:
            data = read_learner_file(self.folder, self.file.relative_to(self.folder).as_posix(), SMALL_FILE_LIMIT)
            return yaml.safe_load(data.decode("utf-8"))
        except (LearnerFileRefused, UnicodeDecodeError, yaml.YAMLError, RecursionError) as exc:
            raise ComposeError(f"{self.file.name} cannot be read as YAML: {exc}") from exc

    def config(self) -> dict[str, Any]:
        """The learner's file as Compose normalizes it (its errors are the learner's errors)."""
        done = self._cli("config", timeout=60)
        if done.returncode != 0:
            raise ComposeError(f"{self.file.name} is not a valid Compose file: {_tail(done)}")
        import yaml  # only Compose exercises need it: `list` and `--version` stay instant

        try:
            config = yaml.safe_load(done.stdout)
        except yaml.YAMLError as exc:
            raise ComposeError(f"compose config printed something that is not YAML: {exc}") from exc
        if not isinstance(config, dict):
            raise ComposeError(f"{self.file.name} defines nothing")
        return config

    # --- lifecycle ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def running(self) -> Iterator[ComposeProject]:
        """Refuse, harden, build each service's image, `up -d --no-build`; afterwards (also on
        error, Ctrl-C or deadline) `down`."""
        outside = file_refusals(self._as_written(), self.folder)
        if outside:
            raise ComposeError(f"{self.file.name} is refused: " + "; ".join(outside))
        config = self.config()
        problems = refusals(config, self.folder, build_network=self.build_network)
        problems += image_refusals(config, self.folder, self._allowed_images())
        problems += self._images_to_pull(config)
        if problems:
            raise ComposeError(f"{self.file.name} is refused: " + "; ".join(problems))
        # A secret of this data folder in the hash: no one else on the engine can derive the name.
        folder = hashlib.sha256(tag_secret() + os.fsencode(self.folder)).hexdigest()[:12]

        def image_name(service: str) -> str:
            self._built.append(f"docker-tutor/{self.exercise_id}-{_slug(service)}:{folder}")
            return self._built[-1]

        hardened = harden(
            config,
            labels(self.exercise_id),
            self.limits,
            build_network=self.build_network,
            image_name=image_name,
            volatile_labels=(SESSION_LABEL, HOST_LABEL),
        )
        builds = service_builds(hardened, self.folder)
        for service in {build.service for build in builds}:
            del hardened["services"][service]["build"]  # Compose starts the image the tutor built
        self._workdir = Path(tempfile.mkdtemp(prefix="docker-tutor-compose-"))
        # JSON is YAML: written as JSON, nothing of the learner's text is re-interpreted.
        (self._workdir / "compose.json").write_text(json.dumps(hardened), encoding="utf-8")
        try:
            started = time.monotonic()
            for build in builds:
                self._build(build, self.timeout - (time.monotonic() - started))
            # An image built a moment ago may be gone by `up` (removed by another tutor on a busy
            # engine): Compose would then pull its name. Built once more, never pulled.
            for build in self._gone(builds):
                self._build(build, self.timeout - (time.monotonic() - started))
            if gone := self._gone(builds):
                raise ComposeError(
                    "the image the tutor built for service "
                    + ", ".join(build.service for build in gone)
                    + " was removed from the engine before the project started; check again"
                )
            left = max(POLL, self.timeout - (time.monotonic() - started))
            done = self._cli_run("up", "-d", "--no-build", "--no-color", timeout=left)
            if done.returncode != 0:
                raise ComposeError(f"compose up failed: {_tail(done)}")
            yield self
        finally:
            self.down()

    def _build(self, build: ServiceBuild, timeout: float) -> None:
        """Build one service's image with the tutor's builder; a build that fails says which
        service and step, and leaves nothing (the builder removes what it made)."""
        if self._builder is None:
            raise ComposeError("this check needs the engine to build the project's images")
        if self.cancel.is_set():
            raise ComposeError("compose up was cancelled")
        outcome = self._builder(build, max(POLL, timeout), self.cancel)
        if not outcome.ok:
            raise ComposeError(build_failure(build, outcome))

    def _gone(self, builds: list[ServiceBuild]) -> list[ServiceBuild]:
        """The builds whose image the engine no longer holds."""
        engine = self._engine
        if engine is None:
            return []
        gone = []
        for build in builds:
            try:
                engine.inspect_image(build.tag)
            except Exception:  # noqa: BLE001 - not found (or the engine failed: `up` will say so)
                gone.append(build)
        return gone

    def _images_to_pull(self, config: dict[str, Any]) -> list[str]:
        """Services that start from an image the engine does not hold: Compose would pull it
        (tutor/engine/local_images.py). The images the tutor builds are judged by its builder."""
        if self._engine is None:
            return []
        from tutor.engine.local_images import NOT_ON_THE_ENGINE, present

        engine = self._engine

        def inspect(reference: str) -> dict[str, Any] | None:
            try:
                return engine.inspect_image(reference)
            except Exception:  # noqa: BLE001 - not found, or a name the engine cannot read: not there
                return None

        return [
            f"service {name}: image {service['image']} is {NOT_ON_THE_ENGINE}"
            for name, service in (config.get("services") or {}).items()
            if isinstance(service, dict) and not service.get("build") and service.get("image")
            and not present(inspect, str(service["image"]))
        ]

    def _allowed_images(self) -> Collection[str]:
        if self._allowed is not None:
            return self._allowed
        from tutor import locations
        from tutor.engine.build_policy import allowed_bases

        return allowed_bases(Path(), locations.content_root())

    def _cli_run(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        """A command against the running project: the hardened file, never the learner's."""
        return self._cli(*args, timeout=timeout, file=self._workdir / "compose.json" if self._workdir else None)

    def down(self) -> None:
        """Remove the project's containers, networks and volumes. The images it built stay, under
        one name per exercise, folder and service, as the cache of the folder's next check,
        unless keep_images is off (verify, lint-content)."""
        if self._workdir is None:
            return
        self.cancel = threading.Event()  # taking down must not be cut short by the cancel that led here
        with contextlib.suppress(Exception):
            self._stack.close()  # the probers first: a network with a container on it stays
        self._probers.clear()
        with contextlib.suppress(ComposeError):
            self._cli_run("down", "-v", "--remove-orphans", "-t", "1", timeout=DOWN_TIMEOUT)
        if not self.keep_images and self._engine is not None:
            for image in self._built:  # by name, never forced: an image in use elsewhere stays
                with contextlib.suppress(Exception):
                    self._engine.remove_image(image)
        shutil.rmtree(self._workdir, ignore_errors=True)
        self._workdir = None

    # --- what checks look at -----------------------------------------------------------------
    def _container(self, service: str) -> dict[str, Any]:
        """The service's container as the engine shows it (read through the API: no CLI start-up)."""
        if self._engine is None:
            return {}
        filters = {"label": [f"com.docker.compose.project={self.name}", f"com.docker.compose.service={service}"]}
        found = self._engine.containers(all=True, filters=filters)
        return self._engine.inspect_container(found[0]["Id"]) if found else {}

    def state(self, service: str) -> dict[str, Any]:
        """The service container's State (Running, ExitCode, Health), or {} if it has none."""
        return self._container(service).get("State") or {}

    def http(self, service: str, port: int) -> ServiceHttp:
        """A client of `service` on `port`, from inside the project's network."""
        return ServiceHttp(self, service, port)

    def _probe(self, service: str, port: int) -> Prober:
        """A prober on a network of the service's, aimed at its address there."""
        import dataclasses

        networks = (self._container(service).get("NetworkSettings") or {}).get("Networks") or {}
        reachable = sorted((name, settings["IPAddress"]) for name, settings in networks.items() if (settings or {}).get("IPAddress"))
        if not reachable:
            raise ConnectionError(f"{service} is on no network of the project (is it running? network_mode: none?)")
        if self._prober is None:
            raise ComposeError("this check needs the engine to start its prober")
        network, address = reachable[0]
        with self._probe_lock:
            if network not in self._probers:
                self._probers[network] = self._stack.enter_context(self._prober(network))
        return dataclasses.replace(self._probers[network], address=address, port=port)

    def exec(self, service: str, argv: list[str], *, timeout: float = 20.0) -> tuple[int, str]:
        """Run a command in a running service container: (exit code, output)."""
        done = self._cli_run("exec", "-T", service, *argv, timeout=timeout)
        return done.returncode, clean_text(done.stdout + done.stderr)

    def logs(self, service: str, tail: int = 60) -> str:
        container = self._container(service)
        if not container or self._engine is None:
            return ""
        return clean_text(self._engine.logs(container["Id"], tail=tail))


class ServiceHttp:
    """HTTP requests to one service's port, sent by the tutor's prober on the project's network."""

    def __init__(self, project: ComposeProject, service: str, port: int) -> None:
        self._project, self._service, self._port = project, service, port

    def request(self, method: str, path: str, body: str = "", headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """(status, body); ConnectionError when nothing answers."""
        return self._project._probe(self._service, self._port).request(method, path, body, headers)


_COMPOSE_ENVIRONMENT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONFIG")


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-.") or "service"


def _tail(done: subprocess.CompletedProcess[str], lines: int = 8) -> str:
    text = clean_text(done.stderr or done.stdout).strip().splitlines()
    return " | ".join(line.strip() for line in text[-lines:] if line.strip()) or f"exit code {done.returncode}"


def sweep_leftovers(api: Any) -> int:
    """Remove what Compose projects of a tutor process that died (kill -9) left behind: containers,
    then networks and volumes, found by the labels every project carries. (The images it built
    are kept per exercise and folder, as the images of single-container checks are.)"""
    removed = 0
    label = {"label": [f"{MANAGED_LABEL}=true", "com.docker.compose.project"]}
    with contextlib.suppress(Exception):
        for container in api.containers(all=True, filters=label):
            if _orphaned(container.get("Labels")):
                with contextlib.suppress(Exception):
                    api.remove_container(container["Id"], force=True, v=True)
                    removed += 1
    with contextlib.suppress(Exception):
        for network in api.networks(filters=label):
            if _orphaned(network.get("Labels")):
                with contextlib.suppress(Exception):
                    api.remove_network(network["Id"])
                    removed += 1
    with contextlib.suppress(Exception):
        for volume in api.volumes(filters=label).get("Volumes") or []:
            if _orphaned(volume.get("Labels")):
                with contextlib.suppress(Exception):
                    api.remove_volume(volume["Name"], force=True)
                    removed += 1
    return removed


def _orphaned(found: dict[str, str] | None) -> bool:
    """Made by a tutor process on this machine that is gone."""
    found = found or {}
    pid = found.get(SESSION_LABEL, "").split("-")[0]
    return found.get(HOST_LABEL) == _process_space() and pid.isdigit() and not _alive(int(pid))
