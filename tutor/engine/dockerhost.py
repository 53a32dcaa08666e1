"""The one place that talks to the Docker engine: connect, build, run sandboxed, clean up.

Every docker SDK error is translated here into a TutorError with a message for the learner.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests.exceptions
import urllib3.exceptions
from docker.types import LogConfig

from tutor.engine.discovery import EngineChoice, chosen_engine, socket_candidates, start_hint
from tutor.engine.driver import RunOutcome, Sandbox
from tutor.engine.events import BuildFinished, BuildOutput, BuildStep, EventSink, StepCached
from tutor.engine.sanitize import clean_line, clean_text
from tutor.errors import EngineUnavailable, TutorError, UsageError

MIN_API_VERSION = "1.41"
MANAGED_LABEL = "org.docker-tutor.managed"
EXERCISE_LABEL = "org.docker-tutor.exercise"
SESSION_LABEL = "org.docker-tutor.session"
HOST_LABEL = "org.docker-tutor.host"
STAND_IN_LABEL = "org.docker-tutor.stand-in"
# One id per tutor process: whatever it made carries it, so a sweep can find it.
SESSION_ID = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"

# What reading a build stream raises when the connection is cut (by our deadline, or the engine).
# (A requests error is not among them: engine_errors reads it as an engine that went away.)
_STREAM_BROKEN = (
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
    ValueError,
    AttributeError,
)
_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_LAYER_ID = re.compile(r"^ ---> ([0-9a-f]{12,64})$")
_STEP_CONTAINER = re.compile(r"^ ---> Running in ([0-9a-f]{12,64})$")


def _labels(exercise_id: str = "") -> dict[str, str]:
    labels = {MANAGED_LABEL: "true", SESSION_LABEL: SESSION_ID, HOST_LABEL: _process_space()}
    if exercise_id:
        labels[EXERCISE_LABEL] = exercise_id
    return labels


def sandbox_kwargs(sandbox: Sandbox) -> dict[str, Any]:
    """A Sandbox as container-create options."""
    return {
        "mem_limit": f"{sandbox.memory_mb}m",
        "memswap_limit": f"{sandbox.memory_mb}m",
        "nano_cpus": int(sandbox.cpus * 1e9),
        "pids_limit": sandbox.pids,
        "network_mode": "bridge" if sandbox.network else "none",
        "cap_drop": ["ALL"],
        "cap_add": list(sandbox.cap_add) or None,
        "security_opt": ["no-new-privileges"],
        "privileged": False,
        # The json-file log is capped so a flood cannot fill the disk or our memory.
        "log_config": LogConfig(type="json-file", config={"max-size": "1m", "max-file": "1"}),
    }


@dataclass(slots=True)
class BuildOutcome:
    ok: bool
    seconds: float
    image_id: str = ""
    error: str = ""
    log_tail: list[str] = field(default_factory=list)
    steps: dict[int, str] = field(default_factory=dict)  # step number -> instruction
    cached: set[int] = field(default_factory=set)
    total_steps: int = 0  # the learner's steps: the tutor's own LABEL step is not counted
    hidden_steps: set[int] = field(default_factory=set)  # the tutor's own steps, kept out of the learner's log
    created_layers: list[str] = field(default_factory=list)  # image ids made by this build
    # Step containers carry no labels (build labels reach only the final image): track them here.
    step_containers: list[str] = field(default_factory=list)


@contextlib.contextmanager
def engine_errors(action: str) -> Iterator[None]:
    """Translate whatever the SDK raises into a TutorError that says what to do."""
    try:
        yield
    except TutorError:
        raise
    except docker.errors.ImageNotFound as exc:
        raise TutorError(f"{action}: image not found ({exc.explanation})") from exc
    except docker.errors.APIError as exc:
        raise TutorError(f"{action}: the engine refused: {exc.explanation or exc}") from exc
    except requests.exceptions.RequestException as exc:
        raise _unavailable(exc) from exc
    except docker.errors.DockerException as exc:
        if "Error while fetching server API version" in str(exc) or "Connection" in str(exc):
            raise _unavailable(exc) from exc
        raise TutorError(f"{action}: {exc}") from exc


def _unavailable(exc: BaseException, choice: EngineChoice | None = None) -> EngineUnavailable:
    where = f" at {choice.url} ({choice.how})" if choice else ""
    if _denied(exc):
        return EngineUnavailable(
            f"No permission to use the Docker socket{where}.",
            hint="Add yourself to the docker group: sudo usermod -aG docker $USER, then log out "
            "and in again (or run with a user that may use the socket).",
        )
    return EngineUnavailable(
        f"No Docker engine answers{where}.",
        hint=start_hint() + " Run 'docker-tutor doctor' to see what is wrong.",
    )


def _denied(exc: BaseException) -> bool:
    return "Permission denied" in str(exc) or isinstance(exc.__context__, PermissionError)


class BuildLog:
    """Reads the classic builder's stream into a BuildOutcome, emitting events as it goes."""

    def __init__(self, outcome: BuildOutcome, on_event: EventSink, own_steps: int = 0) -> None:
        self.outcome = outcome
        self.on_event = on_event
        # The classic builder turns each build label into a LABEL step at the end: the tutor's
        # own, so neither the learner's log nor their step count shows it.
        self.own_steps = own_steps
        self.hidden = False
        self.tail: deque[str] = deque(maxlen=60)  # all that is kept of a build's output
        self.step = 0
        self._pull_states: set[str] = set()

    def feed(self, chunk: dict[str, Any]) -> None:
        if "stream" in chunk:
            for raw in str(chunk["stream"]).splitlines():
                self._line(clean_line(raw))
        elif "error" in chunk:
            self.outcome.error = clean_text(str(chunk["error"]), limit=2000).strip()
        elif "status" in chunk:
            # A missing base image is being pulled: say so once per layer and state, not per tick.
            line = clean_line(f"{chunk['status']} {chunk.get('id', '')}".strip())
            if line not in self._pull_states:
                self._pull_states.add(line)
                self._show(line)
        elif isinstance(chunk.get("aux"), dict) and "ID" in chunk["aux"]:
            self.outcome.image_id = chunk["aux"]["ID"]

    def _line(self, line: str) -> None:
        outcome = self.outcome
        if step := _STEP.match(line):
            self.step = int(step.group(1))
            outcome.total_steps = int(step.group(2)) - self.own_steps
            outcome.steps[self.step] = step.group(3)
            self.hidden = self.step > outcome.total_steps and step.group(3).startswith(f"LABEL {EXERCISE_LABEL}")
            if self.hidden:
                outcome.hidden_steps.add(self.step)
            else:
                self.on_event(BuildStep(self.step, outcome.total_steps, step.group(3)))
        elif line.strip() == "---> Using cache":
            outcome.cached.add(self.step)
            if not self.hidden:
                self.on_event(StepCached(self.step))
        elif running := _STEP_CONTAINER.match(line):
            outcome.step_containers.append(running.group(1))
        elif layer := _LAYER_ID.match(line):
            made_here = self.step not in outcome.cached
            if made_here and not outcome.steps.get(self.step, "").upper().startswith("FROM"):
                outcome.created_layers.append(layer.group(1))
        if line.strip() and not self.hidden:
            self._show(line)

    def _show(self, line: str) -> None:
        self.tail.append(line)
        self.on_event(BuildOutput(line))


class StreamBroken(Exception):
    """Reading the engine's stream failed: the connection was cut (by our deadline, or the engine)."""


def _chunks(stream: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The stream's chunks; a failure to read one raises StreamBroken, whatever the transport raised."""
    while True:
        try:
            chunk = next(stream)
        except StopIteration:
            return
        except requests.exceptions.RequestException:
            raise  # engine_errors says the engine is unreachable
        except _STREAM_BROKEN as exc:
            raise StreamBroken(str(exc)) from exc
        yield chunk


class _StreamClient(docker.APIClient):
    """An APIClient that keeps the build's HTTP response, so a deadline can cut it off."""

    response: Any = None

    def _stream_helper(self, response: Any, decode: bool = False) -> Any:
        self.response = response
        return super()._stream_helper(response, decode=decode)


class DockerHost:
    """A connected engine. Create with `connect()`."""

    def __init__(self, client: docker.DockerClient, choice: EngineChoice) -> None:
        self.client = client
        self.api = client.api
        self.choice = choice  # where the engine is and how it was found
        self._client_kwargs = choice.client_kwargs()  # to open a separate connection per build stream

    @property
    def engine_url(self) -> str:
        """Where this engine listens, as DOCKER_HOST spells it: other clients (Compose) use the same one."""
        return str(self._client_kwargs.get("base_url") or "unix:///var/run/docker.sock")

    # --- facts -----------------------------------------------------------------------------
    def ping(self) -> None:
        """Raise EngineUnavailable unless the engine answers now."""
        with engine_errors("reaching the engine"):
            self.api.ping()

    def version(self) -> dict[str, Any]:
        with engine_errors("reading the engine version"):
            return self.api.version()

    def info(self) -> dict[str, Any]:
        with engine_errors("reading engine info"):
            return self.api.info()

    def image_attrs(self, ref: str) -> dict[str, Any] | None:
        with engine_errors(f"inspecting {ref}"):
            try:
                return self.api.inspect_image(ref)
            except docker.errors.ImageNotFound:
                return None

    def history(self, ref: str) -> list[dict[str, Any]]:
        with engine_errors(f"reading the history of {ref}"):
            return self.api.history(ref)

    # --- build -----------------------------------------------------------------------------
    def build(
        self,
        context: Path,
        *,
        tag: str | None,
        exercise_id: str,
        timeout: float,
        network: bool,
        memory_mb: int,
        on_event: EventSink,
        cancel: threading.Event | None = None,
        dockerfile: str = "Dockerfile",
    ) -> BuildOutcome:
        """Build with the classic builder, streaming per-step events, within a wall-clock limit."""
        started = time.monotonic()
        outcome = BuildOutcome(ok=False, seconds=0.0)
        stop = cancel or threading.Event()
        finished = threading.Event()
        api = _StreamClient(**self._client_kwargs, version=self.api._version, timeout=None)
        reason: list[str] = []

        def watchdog() -> None:
            # api.build has no overall deadline: cut the stream, which makes the engine cancel it.
            deadline = started + timeout
            while not finished.wait(0.1):
                if stop.is_set() or time.monotonic() > deadline:
                    reason.append("cancelled" if stop.is_set() else "timeout")
                    _shutdown(api)
                    return

        log = BuildLog(outcome, on_event, own_steps=1)
        guard = threading.Thread(target=watchdog, name="build-deadline", daemon=True)
        guard.start()
        try:
            with engine_errors("building the image"):
                stream = api.build(
                    path=str(context),
                    dockerfile=dockerfile,
                    tag=tag or None,
                    # One label: the classic builder adds a step per label. No session label either,
                    # so a build that changed nothing keeps its image id.
                    labels={EXERCISE_LABEL: exercise_id},
                    rm=True,
                    forcerm=True,  # remove the container of a failed step too
                    pull=False,
                    decode=True,
                    network_mode=None if network else "none",
                    container_limits={"memory": memory_mb * 2**20, "memswap": memory_mb * 2**20},
                )
                for chunk in _chunks(stream):
                    log.feed(chunk)  # a bug in the parser surfaces as what it is, never as a cut stream
        except EngineUnavailable:
            if not reason:
                raise
        except TutorError as exc:
            outcome.error = exc.message
        except StreamBroken as exc:
            if not reason:
                outcome.error = f"the build stream broke off: {exc.__cause__}"
        finally:
            finished.set()
            _close(api)
        if outcome.error.startswith("the build stream broke off"):
            self.ping()  # the engine went away mid-build: that is exit 3, not a learner's mistake
        if reason:
            outcome.error = (
                "the build was cancelled"
                if reason[0] == "cancelled"
                else f"the build did not finish within {timeout:g} s and was stopped"
            )
        outcome.ok = bool(outcome.image_id) and not outcome.error
        outcome.log_tail = list(log.tail)
        outcome.seconds = time.monotonic() - started
        if not outcome.ok:
            self._remove_build_leftovers(outcome)
        on_event(BuildFinished(outcome.ok, outcome.seconds, outcome.error))
        return outcome

    def _remove_build_leftovers(self, outcome: BuildOutcome) -> None:
        """A failed or cut build leaves its step container and half a layer chain: remove both."""
        for container_id in outcome.step_containers:
            with contextlib.suppress(Exception):
                self.api.remove_container(container_id, force=True, v=True)
        for layer in reversed(outcome.created_layers):
            with contextlib.suppress(Exception):
                self.api.remove_image(layer, force=False, noprune=False)

    def remove_image(self, ref: str) -> None:
        """Remove a tag or an image and its unused layers. Never forced: an image that a running
        check (this one or a parallel one with identical layers) still uses is left alone."""
        with contextlib.suppress(docker.errors.APIError, requests.exceptions.RequestException):
            self.api.remove_image(ref, force=False, noprune=False)

    # --- run -------------------------------------------------------------------------------
    def run(self, image: str, command: list[str] | str | None = None, *, timeout: float = 20.0, **options: Any) -> RunOutcome:
        """Run a container to completion (or kill it at the deadline) and collect its output.

        `options` are those of `container()`: entrypoint, environment, user, sandbox, exercise_id."""
        started = time.monotonic()
        with self.container(image, command, **options) as container:
            timed_out = False
            exit_code: int | None = None
            try:
                exit_code = container.wait(timeout=timeout)["StatusCode"]
            except docker.errors.APIError as exc:
                # An HTTP answer from the engine (it refused, or the container vanished): no timeout.
                raise TutorError(f"waiting for the container: the engine refused: {exc.explanation or exc}") from exc
            except requests.exceptions.RequestException:
                self.ping()  # a dead engine also breaks the wait: that is not the container's fault
                timed_out = True
                with contextlib.suppress(docker.errors.APIError):
                    container.kill()
            with engine_errors("reading the container's output"):
                stdout = container.logs(stdout=True, stderr=False)
                stderr = container.logs(stdout=False, stderr=True)
                container.reload()
            oom = bool(container.attrs.get("State", {}).get("OOMKilled"))
            return RunOutcome(
                exit_code=None if timed_out else exit_code,
                stdout=clean_text(stdout),
                stderr=clean_text(stderr),
                seconds=time.monotonic() - started,
                timed_out=timed_out,
                oom_killed=oom,
            )

    @contextlib.contextmanager
    def container(
        self,
        image: str,
        command: list[str] | str | None = None,
        *,
        entrypoint: list[str] | None = None,
        environment: dict[str, str] | None = None,
        user: str | None = None,
        sandbox: Sandbox = Sandbox(),
        ports: list[int] | None = None,
        exercise_id: str = "",
        start: bool = True,
    ) -> Iterator[Any]:
        """A started, sandboxed container that is always removed afterwards."""
        kwargs = sandbox_kwargs(sandbox)
        if ports:
            # Published on loopback only, to a free port the engine picks.
            kwargs["ports"] = {f"{port}/tcp": ("127.0.0.1", None) for port in ports}
            kwargs["network_mode"] = "bridge"
        container = None
        try:
            with engine_errors(f"starting a container from {image}"):
                container = self.client.containers.create(
                    image,
                    command=command,
                    entrypoint=entrypoint,
                    environment=environment,
                    user=user,
                    labels=_labels(exercise_id),
                    detach=True,
                    **kwargs,
                )
                if start:
                    container.start()
            yield container
        finally:
            if container is not None:
                with contextlib.suppress(Exception):
                    container.remove(force=True, v=True)

    # --- cleanup ---------------------------------------------------------------------------
    def sweep_orphans(self) -> int:
        """Remove containers left by a tutor process on this machine that died (kill -9, power loss)."""
        removed = 0
        with engine_errors("cleaning up after an earlier run"):
            for container in self.api.containers(all=True, filters={"label": f"{MANAGED_LABEL}=true"}):
                labels = container.get("Labels") or {}
                pid = labels.get(SESSION_LABEL, "").split("-")[0]
                if labels.get(HOST_LABEL) != _process_space() or not pid.isdigit() or _alive(int(pid)):
                    continue
                with contextlib.suppress(docker.errors.APIError):
                    self.api.remove_container(container["Id"], force=True, v=True)
                    removed += 1
        return removed

    def sweep(self, *, images: bool = False) -> tuple[int, int]:
        """Remove every container (and, if asked, image) the tutor made: (containers, images)."""
        removed_containers = removed_images = 0
        with engine_errors("cleaning up"):
            for container in self.api.containers(all=True, filters={"label": f"{MANAGED_LABEL}=true"}):
                with contextlib.suppress(docker.errors.APIError):
                    self.api.remove_container(container["Id"], force=True, v=True)
                    removed_containers += 1
            if images:
                ours = self.api.images(filters={"label": EXERCISE_LABEL}) + self.api.images(
                    filters={"label": f"{MANAGED_LABEL}=true"}
                )
                for image_id in {image["Id"] for image in ours}:
                    with contextlib.suppress(docker.errors.APIError):
                        self.api.remove_image(image_id, force=True)
                        removed_images += 1
        return removed_containers, removed_images


def _process_space() -> str:
    """Where a pid means something: this host and this pid namespace (containers sharing one
    engine and one hostname still have namespaces of their own)."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        namespace = 0
    return f"{socket.gethostname()}/{namespace}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _shutdown(api: _StreamClient) -> None:
    """Wake a thread blocked reading the build stream; the engine then cancels the build."""
    response = api.response
    if response is None:
        return
    with contextlib.suppress(Exception):
        raw = api._get_raw_response_socket(response)
        getattr(raw, "_sock", raw).shutdown(socket.SHUT_RDWR)


def _close(api: _StreamClient) -> None:
    with contextlib.suppress(Exception):
        if api.response is not None:
            api.response.close()
    with contextlib.suppress(Exception):
        api.close()


def connect(timeout: float = 60.0) -> DockerHost:
    """Connect to the engine the docker CLI would use (tutor/engine/discovery.py) and check its API.

    An engine the learner named is the only one tried; otherwise each well-known socket in turn."""
    chosen = chosen_engine()
    candidates = [chosen] if chosen else socket_candidates()
    failures: list[tuple[EngineChoice, EngineUnavailable]] = []
    for choice in candidates:
        try:
            client = _client(choice, timeout)
        except EngineUnavailable as exc:
            failures.append((choice, exc))
            continue
        api_version = client.api.api_version
        if _version_tuple(api_version) < _version_tuple(MIN_API_VERSION):
            raise EngineUnavailable(
                f"The Docker engine at {choice.url} ({choice.how}) speaks API {api_version}; "
                f"docker-tutor needs {MIN_API_VERSION} or newer.",
                hint="Update Docker (Engine 20.10 or newer).",
            )
        return DockerHost(client, choice)
    # A socket we may not use says more than one that is not there.
    denied = [pair for pair in failures if pair[1].message.startswith("No permission")]
    choice, error = (denied or failures)[0]
    if len(failures) > 1 and not denied:
        tried = ", ".join(c.url for c, _ in failures)
        raise EngineUnavailable(f"No Docker engine answers (tried {tried}).", hint=error.hint)
    raise error


def _client(choice: EngineChoice, timeout: float) -> docker.DockerClient:
    try:
        # With no version given, the client asks the engine for its API version: one round trip.
        return docker.DockerClient(**choice.client_kwargs(), timeout=timeout)
    except requests.exceptions.RequestException as exc:
        raise _unavailable(exc, choice) from exc
    except docker.errors.DockerException as exc:
        if "Error while fetching server API version" in str(exc):
            raise _unavailable(exc, choice) from exc
        # Not an engine that is down: an address the SDK cannot use (a typo, an unknown scheme).
        raise UsageError(f"cannot use the Docker engine at {choice.url} ({choice.how}): {exc}") from exc


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))
