"""The one place that talks to the Docker engine: connect, build, run sandboxed, clean up.

Every docker SDK error is translated here into a TutorError with a message for the learner.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import docker
import docker.errors
import requests.exceptions
from docker.transport import UnixHTTPAdapter
from docker.types import LogConfig, Ulimit

from tutor.engine.builders.choice import BUILDER_NAMES, BuilderChoice, choose, requested
from tutor.engine.builders.limits import max_added_bytes
from tutor.engine.builders.outcome import BuildOutcome, BuildRequest
from tutor.engine.container_watch import ContainerWatch
from tutor.engine.discovery import EngineChoice, chosen_engine, named_hint, socket_candidates, start_hint
from tutor.engine.driver import RunOutcome, Sandbox
from tutor.engine.events import BuildOutput, EventSink
from tutor.engine.folder_lock import any_being_graded, being_graded
from tutor.engine.image_removal import removal_ref, remove_image
from tutor.engine.owner import OWNER_LABEL, owner_id
from tutor.engine.podman import add_healthcheck, is_podman, run_healthchecks
from tutor.engine.probers import PROBER_IMAGES, PROBER_SANDBOX, NamespaceProber, NetworkProber, Prober
from tutor.engine.sanitize import clean_text
from tutor.errors import EngineUnavailable, TutorError, UsageError

if TYPE_CHECKING:
    from tutor.engine.builders.image_files import FileCounter

MIN_API_VERSION = "1.41"
MANAGED_LABEL = "org.docker-tutor.managed"
EXERCISE_LABEL = "org.docker-tutor.exercise"
SESSION_LABEL = "org.docker-tutor.session"
HOST_LABEL = "org.docker-tutor.host"
STAND_IN_LABEL = "org.docker-tutor.stand-in"
# Of the graded folder an image was built from. The classic builder appends the labels as LABEL
# steps in the order of their names: this one sorts last, so only one step is new per folder.
SOURCE_LABEL = "org.docker-tutor.source"
# Podman's image store under parallel gradings: a lookup or a removal that races another's.
STORAGE_RACE_RETRIES = 3
# Podman's words for an image another process removed while this lookup read it: its record gone, or
# (a moment earlier) its manifest gone under a record still listed.
PODMAN_STORAGE_RACE = re.compile(r"image not known|layer not known|locating item named \"manifest\"", re.IGNORECASE)
_T = TypeVar("_T")
# One id per tutor process: whatever it made carries it, so a sweep can find it.
SESSION_ID = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"

def _labels(exercise_id: str = "") -> dict[str, str]:
    labels = {MANAGED_LABEL: "true", SESSION_LABEL: SESSION_ID, HOST_LABEL: _process_space(), OWNER_LABEL: owner_id()}
    if exercise_id:
        labels[EXERCISE_LABEL] = exercise_id
    return labels


def image_labels(exercise_id: str = "", folder: str = "") -> dict[str, str]:
    """The labels of every image the tutor builds, under either builder: whose tutor made it
    (what `clean` removes), for which exercise, and of which graded folder (`folder`: its key).

    The folder's label gives it an image id of its own: two folders with the same files never
    share an image, so removing one folder's image (the moment another tutor's build makes its
    twin, before that build's tag is on it) can never take the other's. Stable ones only: a
    session's id would make every build of an unchanged folder a new image."""
    labels = {MANAGED_LABEL: "true", OWNER_LABEL: owner_id()}
    if exercise_id:
        labels[EXERCISE_LABEL] = exercise_id
    if folder:
        labels[SOURCE_LABEL] = hashlib.sha256(folder.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return labels


def sandbox_kwargs(sandbox: Sandbox, *, podman: bool = False) -> dict[str, Any]:
    """A Sandbox as container-create options. podman: the engine is Podman, where any ulimit given
    replaces all of its configured ones (nofile, nproc), and a default above the machine's hard
    limit keeps the container from starting: no fsize there, the watch alone holds its disk."""
    kwargs = {
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
    if not podman:
        # No file over a build's disk budget, whichever filesystem it is on (the layer, a volume,
        # /dev/shm, the engine's /etc/hosts): root is held to RLIMIT_FSIZE too.
        kwargs["ulimits"] = [Ulimit(name="fsize", soft=max_added_bytes(), hard=max_added_bytes())]
    return kwargs


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
    named = named_hint(choice) + " " if choice and choice.chosen else ""
    return EngineUnavailable(
        f"No Docker engine answers{where}.",
        hint=named + start_hint() + " Run 'docker-tutor doctor' to see what is wrong.",
    )


def _denied(exc: BaseException) -> bool:
    return "Permission denied" in str(exc) or isinstance(exc.__context__, PermissionError)


class DockerHost:
    """A connected engine. Create with `connect()`."""

    def __init__(self, client: docker.DockerClient, choice: EngineChoice) -> None:
        self.client = client
        self.api = client.api
        self.choice = choice  # where the engine is and how it was found
        self.client_kwargs = choice.client_kwargs()  # to open a separate connection per build stream
        self._version: dict[str, Any] | None = None
        self._podman: bool | None = None
        self._file_counter: FileCounter | None = None

    @property
    def engine_url(self) -> str:
        """Where this engine listens, as DOCKER_HOST spells it: other clients (Compose) use the same one."""
        return str(self.client_kwargs.get("base_url") or "unix:///var/run/docker.sock")

    # --- facts -----------------------------------------------------------------------------
    def ping(self) -> None:
        """Raise EngineUnavailable unless the engine answers now."""
        with engine_errors("reaching the engine"):
            self.api.ping()

    def version(self) -> dict[str, Any]:
        if self._version is None:
            with engine_errors("reading the engine version"):
                self._version = self.api.version()
        return self._version

    def info(self) -> dict[str, Any]:
        with engine_errors("reading engine info"):
            return self.api.info()

    def image_attrs(self, ref: str) -> dict[str, Any] | None:
        def inspect() -> dict[str, Any] | None:
            with engine_errors(f"inspecting {ref}"):
                try:
                    attrs = self.api.inspect_image(ref)
                except docker.errors.ImageNotFound:
                    return None
                return add_healthcheck(self.api, attrs) if self.is_podman() else attrs

        return self._past_podman_races(inspect)

    def _past_podman_races(self, call: Callable[[], _T]) -> _T:
        """`call`, asked again where Podman failed it for an image another process removed meanwhile:
        Podman reads every image to resolve a name or to list them, and one removed under it (another
        grading's, another tutor's) fails the whole answer ("image not known")."""
        for _attempt in range(STORAGE_RACE_RETRIES):
            try:
                return call()
            except (TutorError, docker.errors.APIError) as exc:
                if not self.is_podman() or not PODMAN_STORAGE_RACE.search(str(exc)):
                    raise
                time.sleep(0.5)
        return call()

    def is_podman(self) -> bool:
        if self._podman is None:
            self._podman = is_podman(self.version())
        return self._podman

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
        needs: tuple[str, ...] = (),
        build_args: dict[str, str] | None = None,
        target: str = "",
        labels: dict[str, str] | None = None,
        cache_key: str = "",
    ) -> BuildOutcome:
        """Build with the builder builder_choice(needs) picks, streaming per-step events, within a
        wall-clock limit; a build that fails or is cut leaves no image behind. needs: what the
        Dockerfile uses that only BuildKit builds (builders/choice.py: buildkit_only); build_args,
        target and labels: as `docker build --build-arg`, `--target` and `--label` (Compose's).
        cache_key: the graded folder whose cache mounts the build sees (BuildRequest.cache_key)."""
        from tutor.engine.builders.buildkit import BuildKitBuilder
        from tutor.engine.builders.classic import ClassicBuilder

        missing = self._images_to_pull(context, dockerfile, build_args)
        if missing:
            return BuildOutcome(ok=False, seconds=0.0, error=missing)
        choice = self.builder_choice(needs, network=network)
        builder = BuildKitBuilder(self) if choice.name == "buildkit" else ClassicBuilder(self)
        on_event(BuildOutput(f"docker-tutor: building with {BUILDER_NAMES[choice.name]}: {choice.why}"))
        request = BuildRequest(
            context, tag, exercise_id, timeout, network, memory_mb, dockerfile,
            build_args=tuple((build_args or {}).items()), target=target, labels=tuple((labels or {}).items()),
            cache_key=cache_key,
        )
        outcome = builder.build(request, on_event, cancel)
        outcome.builder_why = choice.why
        return outcome

    def _images_to_pull(self, context: Path, dockerfile: str, build_args: dict[str, str] | None) -> str:
        """Why the build may not start: the images it names that the engine would pull ("" if none).
        Every build goes through here (a check's, its rebuilds, a Compose service's)."""
        from tutor.engine.dockerfile import DockerfileUnreadable, read_dockerfile
        from tutor.engine.local_images import missing_images, refusal

        try:
            parsed = read_dockerfile(context / dockerfile, context)
        except DockerfileUnreadable:
            return ""  # the builder says what is wrong with it
        missing = missing_images(self, parsed, build_args)
        return refusal(missing) if missing else ""

    def builder_choice(self, needs: tuple[str, ...] = (), *, network: bool = False) -> BuilderChoice:
        """BuildKit where the engine offers it, unless --builder or DOCKER_TUTOR_BUILDER says otherwise;
        in serve and grade, and for a build that needs the network (network), the classic builder
        unless the Dockerfile needs BuildKit (needs)."""
        from tutor.engine.builders.step_limits import supported

        return choose(self.version(), requested(), needs=needs, network=network, held=bool(needs) and supported(self))

    def remove_image(self, ref: str) -> None:
        """Remove a tag, or an image by id, and its unused layers. Never forced: an image that a running
        check (this one or a parallel one with identical layers) still uses is left alone, and one
        another tutor has tagged keeps that tag (image_removal)."""
        try:
            ref = removal_ref(self.api, ref)
        except (docker.errors.APIError, requests.exceptions.RequestException):
            return  # gone already, or the engine with it
        for attempt in range(STORAGE_RACE_RETRIES + 1):
            try:
                self.api.remove_image(ref, force=False, noprune=False)
                return
            except docker.errors.APIError as exc:
                # Podman may still be removing the containers that were just removed from it
                # (409: the image is in use); Docker's removal is done when it answers.
                if attempt == STORAGE_RACE_RETRIES or not self.is_podman() or exc.status_code != 409:
                    return
            except requests.exceptions.RequestException:
                return
            time.sleep(1.0)

    def files_added(self, image: dict[str, Any], base: dict[str, Any] | None, limit: int) -> int | None:
        """Files and folders an image has beyond its base (None: all), exact when over limit; None where
        they cannot be counted. Both are the engine's attributes of the image (image_attrs)."""
        return self.file_counter().added(image, base, limit)

    def file_counter(self) -> FileCounter:
        from tutor.engine.builders.image_files import FileCounter

        if self._file_counter is None:
            self._file_counter = FileCounter(self)  # one per engine: each base image counted once
        return self._file_counter

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
        network: str = "",
        pid_mode: str = "",
        exercise_id: str = "",
        start: bool = True,
        mounts: list[docker.types.Mount] | None = None,
    ) -> Iterator[Any]:
        """A started, sandboxed container that is always removed afterwards.

        network: join this (isolated) network instead of the sandbox's: none, or with sandbox.network
        a network of its own that reaches the outside but no other container (tutor/engine/egress.py);
        pid_mode: join this process namespace ("container:ID"; the engine machine's, "host", for the
        tutor's own step warden) instead of one of its own;
        mounts: volumes only (the tutor's own readers), or the engine machine's cgroups and its data
        root, read-only, for the tutor's own step warden (builders/step_warden.py): never a host
        folder in a learner's container."""
        kwargs = sandbox_kwargs(sandbox, podman=self.is_podman())
        if mounts:
            kwargs["mounts"] = mounts
        if pid_mode:
            kwargs["pid_mode"] = pid_mode
        container = None
        own_network = contextlib.ExitStack()
        try:
            if sandbox.network and not network and not self.is_podman():
                network = own_network.enter_context(self.egress_network(exercise_id))
            if network:
                kwargs["network_mode"] = network
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
            watch = ContainerWatch(self, container.id, exercise_id) if start and sandbox.learner else contextlib.nullcontext()
            with watch, self._podman_healthchecks(container.id, image):
                try:
                    yield container
                except Exception:
                    # What the check saw of a killed container (an exit code, a closed port) is not the story.
                    if isinstance(watch, ContainerWatch):
                        watch.raise_if_over()
                    raise
            if isinstance(watch, ContainerWatch):
                watch.raise_if_over()
        finally:
            if container is not None:
                with contextlib.suppress(Exception):
                    container.remove(force=True, v=True)
            own_network.close()

    def egress_network(self, exercise_id: str = "") -> contextlib.AbstractContextManager[str]:
        """The network mode of one build or container that needs the network: out to the internet,
        to nothing near the engine (tutor/engine/egress.py)."""
        from tutor.engine.egress import egress_network

        return egress_network(self, _labels(exercise_id), SESSION_ID, exercise_id)

    def podman_file_owner(self, image: str, path: str, *, exercise_id: str = "") -> tuple[int, int] | None:
        """(uid, gid) of a path in the image, on Podman; None when it is not there.

        Podman's archive endpoint reports every file as the container's user's, so the owner is
        asked of the kernel: busybox's stat, from the busybox image mounted read-only beside the
        learner's files (the learner's image may have no stat, or no shell), with the image's
        volumes left out so that the image's own folder is read."""
        probe = "/.docker-tutor-stat"
        spec = {
            "image": image,
            "image_volume_mode": "ignore",
            "image_volumes": [{"Source": "busybox", "Destination": probe, "ReadWrite": False}],
            "entrypoint": [f"{probe}/bin/busybox", "stat", "-c", "%u %g", path],
            "command": [],
            "user": "0:0",
            "labels": _labels(exercise_id),
            "netns": {"nsmode": "none"},
            "cap_drop": ["ALL"],
            "no_new_privileges": True,
            "resource_limits": {"memory": {"limit": 64 * 2**20}, "pids": {"limit": 16}},
        }
        container_id = ""
        try:
            with engine_errors(f"reading the owner of {path} in the image"):
                response = self.api._post_json(self.api._url("/libpod/containers/create"), data=spec)
                container_id = self.api._result(response, json=True)["Id"]
                container = self.client.containers.get(container_id)
                container.start()
                code = container.wait(timeout=30)["StatusCode"]
                output = container.logs(stdout=True, stderr=False).decode(errors="replace").split()
        finally:
            if container_id:
                with contextlib.suppress(Exception):
                    self.api.remove_container(container_id, force=True, v=True)
        if code != 0 or len(output) != 2 or not all(part.isdigit() for part in output):
            return None
        return int(output[0]), int(output[1])

    def main_process_status(self, container_id: str, *, exercise_id: str = "") -> str | None:
        """/proc/1/status of a running container's main process; None when it cannot be read.

        Read by a one-shot container of a trusted image in the container's process namespace, not
        by an exec: the learner's image may have no `cat` (or one of its own), and on Podman every
        exec leaves a `conmon` process behind for minutes (tutor/engine/probers.py)."""
        image = next((name for name in PROBER_IMAGES if self.image_attrs(name)), "")
        if not image:
            return None
        with self.container(
            image, ["cat", "/proc/1/status"], sandbox=PROBER_SANDBOX, pid_mode=f"container:{container_id}", exercise_id=exercise_id
        ) as reader, engine_errors("reading the state of the container's main process"):
            code = reader.wait(timeout=20)["StatusCode"]
            output: bytes = reader.logs(stdout=True, stderr=False)
        return output.decode(errors="replace") if code == 0 else None

    @contextlib.contextmanager
    def served(self, image: str, port: int, *, sandbox: Sandbox = Sandbox(), exercise_id: str = "") -> Iterator[tuple[Any, Prober]]:
        """The learner's server where nothing but a prober beside it can reach it, and that prober.

        No port is published on this machine, and the server reaches nothing: on Docker it is on an
        internal network of its own, whose bridge has no address of this machine's (so the host's
        services are out of reach, at the gateway or any other address), with the prober as the
        only other container; on Podman it has no network at all and each request comes from a
        one-shot prober in its network namespace (tutor/engine/probers.py says why)."""
        if self.is_podman():
            if not self.image_attrs("busybox"):
                raise TutorError("an HTTP check on Podman needs the busybox image on this machine to send its requests from")
            with self.container(image, sandbox=sandbox, exercise_id=exercise_id) as container:
                yield container, NamespaceProber(self, container.id, exercise_id, port)
            return
        with self._isolated_network() as network, self.container(
            image, sandbox=sandbox, network=network, exercise_id=exercise_id
        ) as container, self.prober(network, exercise_id=exercise_id) as prober:
            container.reload()
            address = container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]
            yield container, dataclasses.replace(prober, server=container, address=address, port=port)

    @contextlib.contextmanager
    def prober(self, network: str, *, exercise_id: str = "") -> Iterator[NetworkProber]:
        """A client container on `network`, from a trusted image; aim it with dataclasses.replace
        (address, port, and the server, to read what it listens on). Removed when the block ends."""
        prober_image = next((name for name in PROBER_IMAGES if self.image_attrs(name)), "")
        if not prober_image:
            raise TutorError(f"an HTTP check needs one of {', '.join(PROBER_IMAGES)} on this machine to send its requests from")
        with self.container(prober_image, ["sleep", "900"], sandbox=PROBER_SANDBOX, network=network, exercise_id=exercise_id) as prober:
            yield NetworkProber(prober, None, prober_image, "", 0)

    @contextlib.contextmanager
    def _isolated_network(self) -> Iterator[str]:
        name = f"docker-tutor-{SESSION_ID}-{uuid.uuid4().hex[:8]}"
        options = {"com.docker.network.bridge.inhibit_ipv4": "true", "com.docker.network.bridge.enable_icc": "true"}
        with engine_errors("creating an isolated network"):
            self.api.create_network(name, driver="bridge", internal=True, options=options, labels=_labels(), check_duplicate=True)
        try:
            yield name
        finally:
            with contextlib.suppress(Exception):
                self.api.remove_network(name)

    def _podman_healthchecks(self, container_id: str, image: str) -> contextlib.AbstractContextManager[None]:
        if not self.is_podman():
            return contextlib.nullcontext()
        healthcheck = ((self.image_attrs(image) or {}).get("Config") or {}).get("Healthcheck") or {}
        return run_healthchecks(self.api, container_id, healthcheck)

    # --- cleanup ---------------------------------------------------------------------------
    def sweep_orphans(self) -> int:
        """Remove containers (and a classic build's images) left by a tutor process on this machine
        that died (kill -9, power loss)."""
        from tutor.engine.builders.classic import sweep_dead_builds

        removed = 0
        with engine_errors("cleaning up after an earlier run"):
            for container in self.api.containers(all=True, filters={"label": f"{MANAGED_LABEL}=true"}):
                labels = container.get("Labels") or {}
                pid = labels.get(SESSION_LABEL, "").split("-")[0]
                if labels.get(HOST_LABEL) != _process_space() or not pid.isdigit() or _alive(int(pid)):
                    continue
                if self._remove_with_held_volumes(container):
                    removed += 1
            for network in self.api.networks(filters={"label": f"{MANAGED_LABEL}=true"}):
                labels = network.get("Labels") or {}
                pid = labels.get(SESSION_LABEL, "").split("-")[0]
                if labels.get(HOST_LABEL) == _process_space() and pid.isdigit() and not _alive(int(pid)):
                    with contextlib.suppress(docker.errors.APIError):
                        self.api.remove_network(network["Id"])
        # After the containers: a dead build's step volumes are free once its reader is gone.
        return removed + sweep_dead_builds(self)

    def _remove_with_held_volumes(self, container: dict[str, Any]) -> bool:
        """Remove a container the tutor made, and the build-step volumes it held if it was a step's
        reader (builders/step_watch.py: a tutor killed while it held them); whether it went."""
        from tutor.engine.builders.step_watch import held_volumes

        try:
            self.api.remove_container(container["Id"], force=True, v=True)
        except docker.errors.APIError:
            return False
        for volume in held_volumes(container):
            with contextlib.suppress(docker.errors.APIError):
                self.api.remove_volume(volume)  # not forced: a volume still in use stays
        return True

    def sweep(self, *, images: bool = False) -> tuple[int, int]:
        """Remove the containers (and, if asked, images) this user's tutor made: (containers, images).

        Only what carries this data folder's owner label: on a shared engine, other users' images
        and the checks they are running are left alone, and so are the checks another tutor of this
        user's is running now (a TUI, a served tab). Never forced: an image a container uses stays."""
        from tutor.engine.folder_images import folder_tag_of, is_run_tag, tutor_tag

        removed_containers = removed_images = 0
        mine = {"label": f"{OWNER_LABEL}={owner_id()}"}
        with engine_errors("cleaning up"):
            for container in self.api.containers(all=True, filters=mine):
                labels = container.get("Labels") or {}
                if SESSION_LABEL not in labels:
                    # Not made by a tutor: its labels come from a tutor's image (a classic build's
                    # step under way, or a container the learner started from their image).
                    continue
                if _of_a_running_tutor(labels):
                    continue  # a check under way in another tutor of this user's: removing it would fail that check
                if self._remove_with_held_volumes(container):
                    removed_containers += 1
            for network in self.api.networks(filters=mine):
                if _of_a_running_tutor(network.get("Labels") or {}):
                    continue
                with contextlib.suppress(docker.errors.APIError):
                    self.api.remove_network(network["Id"])
            if images:
                grading = any_being_graded()
                for image in self._past_podman_races(lambda: self.api.images(filters=mine)):
                    listed = [tag for tag in image.get("RepoTags") or [] if tag != "<none>:<none>"]
                    tags = [tutor_tag(tag) for tag in listed]
                    if not all(tags):
                        continue  # a name of the user's own: built or tagged from a tutor's image, it has its labels
                    # Left to a grading under way: the image it checks (its folder's lock), one a class
                    # grading is done with (under a tag of that grading's own: it goes when the class
                    # is done, as removing it would prune layers a sibling's build may be taking), or
                    # (untagged) one a build is making.
                    if any(being_graded(folder_tag_of(tag)) for tag in tags) or (grading and (not tags or any(map(is_run_tag, tags)))):
                        continue
                    went = False
                    for ref in listed or [image["Id"]]:
                        with contextlib.suppress(docker.errors.APIError):
                            went = remove_image(self.api, ref) or went
                    removed_images += went  # one a container uses stays, and is not counted
        return removed_containers, removed_images


def _process_space() -> str:
    """Where a pid means something: this host and this pid namespace (containers sharing one
    engine and one hostname still have namespaces of their own)."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        namespace = 0
    return f"{socket.gethostname()}/{namespace}"


def _of_a_running_tutor(labels: dict[str, str]) -> bool:
    """Made by another tutor process on this machine that is still running."""
    pid = labels.get(SESSION_LABEL, "").split("-")[0]
    return labels.get(HOST_LABEL) == _process_space() and pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def connect(timeout: float = 60.0, named: EngineChoice | None = None) -> DockerHost:
    """Connect to the engine the docker CLI would use (tutor/engine/discovery.py) and check its API.

    An engine the learner named (or `named`: one of a class's engines) is the only one tried;
    otherwise each well-known socket in turn."""
    chosen = named or chosen_engine()
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
        _one_pool(client.api)
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


class _OnePoolAdapter(UnixHTTPAdapter):
    """The SDK keys its connection pools by full URL and closes the least recently used of 25
    even while another thread still reads from it: with checks and learners graded in parallel,
    a request then fails ("'NoneType' object has no attribute 'qsize'"). Every URL goes to the
    same socket, so one pool serves them all and is never closed under a reader."""

    def get_connection(self, url: str, proxies: Any = None) -> Any:
        return super().get_connection("http+docker://localhost", proxies)


def _one_pool(api: docker.APIClient) -> None:
    adapter = getattr(api, "_custom_adapter", None)
    if isinstance(adapter, UnixHTTPAdapter):
        shared = _OnePoolAdapter(f"http+unix://{adapter.socket_path}", adapter.timeout, max_pool_size=64)
        api._custom_adapter = shared
        api.mount("http+docker://", shared)


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))
