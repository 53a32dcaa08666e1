"""The engine's legacy builder (`POST /build`): what Podman offers, and engines before 18.09.

Its stream is text (`Step 2/5 : RUN ...`, ` ---> Using cache`, ` ---> <id>`; Podman's, from
Buildah: `STEP 2/5: RUN ...`, `--> Using cache <id>`, `--> <id>`). Every step
commits an intermediate image that carries no label, so this builder tracks them itself and
removes them when a build does not finish.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections import deque
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import docker.errors

from tutor.engine.builders.base import LEFTOVER_WAIT_SECONDS, Builder, StreamClient
from tutor.engine.builders.journal import BuildJournal, dead_builds
from tutor.engine.builders.limits import FILE_TOO_LARGE, build_pids, max_added_bytes
from tutor.engine.builders.outcome import BuildOutcome, BuildRequest
from tutor.engine.builders.step_limits import StepLimits, step_limits
from tutor.engine.builders.step_watch import StepWatch
from tutor.engine.cache_mounts import PrivateCacheDockerfile, private_cache_mounts
from tutor.engine.context import build_context_tar
from tutor.engine.events import BuildOutput, BuildStep, EventSink, StepCached
from tutor.engine.image_removal import remove_image
from tutor.engine.learner_files import DOCKERFILE_LIMIT, LearnerFileRefused, read_learner_file
from tutor.engine.sanitize import clean_line, clean_text

if TYPE_CHECKING:
    from tutor.engine.dockerhost import DockerHost

# Docker's "Step 3/12 : ..." counts every stage's steps; Buildah's "[2/2] STEP 3/11: ..." counts
# within stage 2 of 2.
_STEP = re.compile(r"^(\[(\d+)/(\d+)\] )?(Step|STEP) (\d+)/(\d+)( ?: )(.*)$")
_USING_CACHE = re.compile(r"^ ?-{2,3}> Using cache\b")
_LAYER_ID = re.compile(r"^ ?-{2,3}> ([0-9a-f]{11,64})$")
_STEP_CONTAINER = re.compile(r"^ ---> Running in ([0-9a-f]{12,64})$")
# What a step prints when a write goes past RLIMIT_FSIZE (EFBIG, or SIGXFSZ's exit code).
_REMOVING = re.compile(r"^Removing intermediate container [0-9a-f]{12,64}$")


class ClassicLog:
    """Reads the classic builder's stream into a BuildOutcome, emitting events as it goes.

    hidden_labels: the build's `labels` parameter, which the engine appends as LABEL steps (one
    per label, by key; Buildah: one step with all of them); the learner's own `docker build` has
    no such steps, so they are left out of the log and the count.
    """

    def __init__(self, outcome: BuildOutcome, on_event: EventSink, hidden_labels: Mapping[str, str] | None = None) -> None:
        self.outcome = outcome
        self.on_event = on_event
        self.hidden_labels = dict(hidden_labels or {})
        self.tail: deque[str] = deque(maxlen=60)  # all that is kept of a build's output
        self.step = 0
        self.last_layer = ""  # the newest image in this build's chain, cached or made
        self._layer_step = 0  # the step that made (or found in cache) last_layer
        self._hiding = False
        self._hidden_cached = False
        self._pull_states: set[str] = set()
        self.shown: dict[str, str] = {}  # instructions the tutor rewrote -> the learner's text

    def feed(self, chunk: dict[str, Any]) -> None:
        if "stream" in chunk:
            for raw in str(chunk["stream"]).splitlines():
                self._line(clean_line(raw))
        elif "error" in chunk:
            error = str(chunk["error"])
            for sent, own in self.shown.items():  # Buildah quotes the step as it was sent
                error = error.replace(sent, own)
            self.outcome.error = clean_text(error, limit=2000).strip()
        elif "status" in chunk:
            # A missing base image is being pulled: say so once per layer and state, not per tick.
            line = clean_line(f"{chunk['status']} {chunk.get('id', '')}".strip())
            if line not in self._pull_states:
                self._pull_states.add(line)
                self._show(line)
        elif isinstance(chunk.get("aux"), dict) and "ID" in chunk["aux"]:
            self.outcome.image_id = chunk["aux"]["ID"]

    def finish(self) -> None:
        steps = self.outcome.steps
        last_from = max((n for n, text in steps.items() if text.upper().startswith("FROM")), default=0)
        self.outcome.final_stage = [n for n in sorted(steps) if n > last_from]

    def running_step(self) -> str:
        """The instruction of the step under way ("" between steps)."""
        return self.outcome.steps.get(self.step, "") if self.step != self._layer_step else ""

    def _line(self, line: str) -> None:
        outcome = self.outcome
        for sent, own in self.shown.items():  # the learner's own text, not the tutor's copy
            line = line.replace(sent, own)
        if step := _STEP.match(line):
            stage, stages = int(step.group(2) or 1), int(step.group(3) or 1)
            index, total, text = int(step.group(5)), int(step.group(6)), step.group(8)
            # The label steps end the last stage.
            last_stage = stage == stages
            added = (1 if step.group(4) == "STEP" else len(self.hidden_labels)) if self.hidden_labels and last_stage else 0
            hidden = index > total - added and self._is_label_step(text)
            self._hiding = hidden
            self._hidden_cached = False
            if hidden:
                outcome.hidden_steps.add(len(outcome.steps) + len(outcome.hidden_steps) + 1)
            shown_total = total - added
            if not hidden:
                self.step = len(outcome.steps) + 1
                # Steps still to come in this stage; later stages are not announced yet.
                outcome.total_steps = self.step + shown_total - index
                outcome.steps[self.step] = text
                self.on_event(BuildStep(self.step, outcome.total_steps, text))
                line = f"{step.group(1) or ''}{step.group(4)} {index}/{shown_total}{step.group(7)}{text}"
        elif _USING_CACHE.match(line):
            if self._hiding:
                self._hidden_cached = True
            else:
                outcome.cached.add(self.step)
                self.on_event(StepCached(self.step))
        elif running := _STEP_CONTAINER.match(line):
            outcome.step_containers.append(running.group(1))
        elif layer := _LAYER_ID.match(line):
            self.last_layer = layer.group(1)
            self._layer_step = self.step
            # The tutor's label step made this image unless the cache had it: tracked all the same.
            made_here = not self._hidden_cached if self._hiding else self.step not in outcome.cached
            if made_here and (self._hiding or not outcome.steps.get(self.step, "").upper().startswith("FROM")):
                outcome.created_layers.append(layer.group(1))
        if self._hiding and (_STEP.match(line) or _LAYER_ID.match(line) or _STEP_CONTAINER.match(line) or _REMOVING.match(line)):
            return
        if line.strip():
            self._show(line)

    def _is_label_step(self, text: str) -> bool:
        """Docker writes `LABEL key=value`; Buildah quotes: `LABEL "key"="value" "key2"="value2"`."""
        words = text.replace('"', "").split()
        ours = {f"{key}={value}" for key, value in self.hidden_labels.items()}
        return len(words) > 1 and words[0] == "LABEL" and set(words[1:]) <= ours

    def _show(self, line: str) -> None:
        self.tail.append(line)
        self.on_event(BuildOutput(line))


class ClassicBuilder(Builder):
    name = "classic"

    def _log(self, outcome: BuildOutcome, on_event: EventSink) -> ClassicLog:
        from tutor.engine.dockerhost import SESSION_ID, _process_space

        self._reader = ClassicLog(outcome, on_event)
        self._limits: StepLimits | None = None
        self._holder = contextlib.ExitStack()
        self._next_disk_check = 0.0
        self._watched = ""
        self._watch = StepWatch(self.host, "")
        self._file_limit = 0
        self._journal = BuildJournal(self.host.api.base_url, SESSION_ID, _process_space())
        # Engine clocks may differ from ours by a little (a VM's): a minute's margin.
        self._started = time.time() - 60
        return self._reader

    def _note_progress(self) -> None:
        reader = self._reader
        created = list(reader.outcome.created_layers)
        self._journal.note(reader.last_layer, created, reader.running_step(), self._started, self._watch.volumes)

    def _done(self) -> None:
        with contextlib.suppress(Exception):
            self._context.close()
        with contextlib.suppress(Exception):
            self._holder.close()  # after the step containers: the holder's cgroup is their parent
        self._watch.close()  # after the step containers too: then the volumes it held can go
        self._journal.close()  # last: until now a killed tutor's leftovers are found from it

    def _failure_note(self) -> str:
        from tutor.engine.builders.limits import human

        log = "\n".join(self._reader.tail)
        if self._limits is not None and self._limits.reached(log):
            return f"a build step tried to run more than {self._limits.pids} processes at once"
        if self._file_limit and FILE_TOO_LARGE.search(log):
            return f"a build step wrote a file over {human(self._file_limit)}, what an exercise's image may add"
        return ""

    def _over_limit(self) -> str:
        from tutor.engine.builders.limits import DISK_POLL_SECONDS

        if self._limits is not None and self._limits.tripped.is_set():
            return (
                f"a build step tried to run more than {self._limits.pids} processes at once and the build was "
                "stopped (a loop that starts processes without end?)"
            )
        now = time.monotonic()
        step = self._reader.running_step()
        running = self._reader.outcome.step_containers[-1] if step and self._reader.outcome.step_containers else ""
        # Only RUN, and FROM (an earlier stage's ONBUILD RUN runs there), start their container: the
        # others only make one for its configuration, where nothing runs that could write.
        if not running or not step.upper().startswith(("RUN", "FROM")):
            return self._watch.step_over()
        # A new step is looked at at once: its volumes are held before it can end and take them along.
        if now < self._next_disk_check and running == self._watched:
            return ""
        self._next_disk_check = now + DISK_POLL_SECONDS
        self._watched = running
        return self._watch.over_limit(running)

    def _check_image(self, outcome: BuildOutcome, request: BuildRequest) -> None:
        """The last step's volumes are measured once more (it may have ended between two looks)."""
        over = self._watch.step_over()
        if over:
            self._refuse_image(outcome, request, over)
            return
        super()._check_image(outcome, request)

    def _stream(self, api: StreamClient, request: BuildRequest) -> Iterator[dict[str, Any]]:
        from tutor.engine.dockerhost import image_labels

        # The stable labels only (no session's): a build that changed nothing keeps its image id.
        labels = {**dict(request.labels), **image_labels(request.exercise_id, request.folder_key)}
        self._reader.hidden_labels = labels
        # The tutor's own tar: the SDK reads .dockerignore as UTF-8 and fails on a Latin-1 one,
        # where `docker build` takes its bytes as they are. On Podman, with the folder's cache
        # mounts made private (Buildah has no namespace for them; cache_mounts.py).
        private = self._private_cache_mounts(request) if self.host.is_podman() else None
        self._reader.shown = private.shown if private else {}
        self._context = build_context_tar(request.context, request.dockerfile, dockerfile_text=private.text if private else None)
        self._holder = contextlib.ExitStack()
        # Steps that need the network get one of their own, out to the internet and to no other
        # container (the default bridge holds every learner's); removed after the step containers.
        own_network = ""
        if request.network and not self.host.is_podman():
            own_network = self._holder.enter_context(self.host.egress_network(request.exercise_id))
        self._limits = self._holder.enter_context(
            step_limits(self.host, pids=build_pids(), memory_mb=request.memory_mb, exercise_id=request.exercise_id)
        )
        self._next_disk_check = 0.0
        self._watch = StepWatch(self.host, request.exercise_id)
        memory = request.memory_mb * 2**20
        params: dict[str, Any] = {
            "dockerfile": request.dockerfile,
            "labels": json.dumps(labels),
            "rm": "1",
            "forcerm": "1",  # remove the container of a failed step too
            "pull": "0",
            "memory": memory,
            "memswap": memory,
        }
        if request.tag:
            params["t"] = request.tag
        if not request.network:
            params["networkmode"] = "none"
        elif own_network:
            params["networkmode"] = own_network
        if request.build_args:
            params["buildargs"] = json.dumps(dict(request.build_args))
        if request.target:
            params["target"] = request.target
        if self._limits is not None:
            params["cgroupparent"] = self._limits.cgroup_parent
        self._file_limit = 0
        if not self.host.is_podman():
            # No single file over the disk budget (root is held to RLIMIT_FSIZE too).
            self._file_limit = max_added_bytes()
            params["ulimits"] = json.dumps([{"Name": "fsize", "Soft": self._file_limit, "Hard": self._file_limit}])
        response = api._post(
            api._url("/build"), data=self._context, params=params, headers={"Content-Type": "application/x-tar"}, stream=True, timeout=None
        )
        api._raise_for_status(response)
        return api._stream_helper(response, decode=True)

    @staticmethod
    def _private_cache_mounts(request: BuildRequest) -> PrivateCacheDockerfile | None:
        try:
            data = read_learner_file(request.context, request.dockerfile, DOCKERFILE_LIMIT)
            text = data.decode("utf-8").removeprefix("\ufeff")
        except (LearnerFileRefused, UnicodeDecodeError):
            return None  # refused before the build, with its reason (grader, compose builds)
        return private_cache_mounts(text, request.cache_namespace)

    def _remove_leftovers(self, outcome: BuildOutcome, *, cut: bool) -> None:
        """A failed or cut build leaves its step container and half a chain of images: remove both.

        A cut build goes on for a moment on the engine (it commits the step it was running), so
        the images it made after the cut are found as descendants of the last one it reported."""
        api = self.host.api
        for container_id in outcome.step_containers:
            with contextlib.suppress(Exception):
                api.remove_container(container_id, force=True, v=True)
        root, running = self._reader.last_layer, self._reader.running_step()
        ours = root in outcome.created_layers
        if cut and root and (ours or running):
            remove_growth(api, root, running="" if ours else running, since=self._started)
        remove_chain(api, outcome.created_layers)


def remove_growth(api: Any, root: str, *, running: str, since: float) -> None:
    """Remove what a stopped build made from `root` (remove_descendants) until it has made nothing
    more for two looks: the engine goes on for a moment (it commits the step it was running)."""
    deadline = time.monotonic() + LEFTOVER_WAIT_SECONDS
    quiet_rounds = 0
    while quiet_rounds < 2 and time.monotonic() < deadline:
        removed = remove_descendants(api, root, running=running, since=since)
        quiet_rounds = 0 if removed else quiet_rounds + 1
        time.sleep(0.3)


def remove_chain(api: Any, layers: list[str]) -> None:
    """Remove a build's own images, newest first (each removal also prunes untagged parents)."""
    for layer in reversed(layers):
        with contextlib.suppress(Exception):
            remove_image(api, layer)  # by id through a tag of its own: another tutor's tagged image stays


def sweep_dead_builds(host: DockerHost) -> int:
    """Remove the images of classic builds whose tutor was killed mid-build; how many notes."""
    from tutor.engine.dockerhost import _alive, _process_space

    swept = 0
    for path, record in dead_builds(host.api.base_url, _process_space(), _alive):
        last, running = str(record["last"]), str(record.get("running", ""))
        ours = last in record.get("created", [])
        if ours or running:  # the engine may still be committing the dead build's steps
            remove_growth(host.api, last, running="" if ours else running, since=float(record.get("since", 0)))
        remove_chain(host.api, [str(layer) for layer in record.get("created", [])])
        if _held_volumes_left(host.api, [str(volume) for volume in record.get("volumes") or []]):
            continue  # the dead tutor's reader is still being removed: the next sweep takes them
        with contextlib.suppress(OSError):
            path.unlink()
        swept += 1
    return swept


def _held_volumes_left(api: Any, volumes: list[str]) -> bool:
    """Remove a dead build's step volumes (never forced); whether one is still in use."""
    in_use = False
    for volume in volumes:
        try:
            api.remove_volume(volume)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            in_use = in_use or exc.status_code == 409
        except Exception:  # noqa: BLE001 - the engine went away: the next sweep tries again
            in_use = True
    return in_use


def remove_descendants(api: Any, root: str, *, running: str = "", since: float = 0.0) -> int:
    """Remove the untagged images that grew from `root`; how many went.

    root: an image this build made, so everything growing from it is the build's own. When the
    build had made none yet, root is shared (the base image, a cached step): then only a child
    committed since the build began for the step it was running, and what grew from that."""
    with contextlib.suppress(Exception):
        root = api.inspect_image(root)["Id"]
    children: dict[str, list[str]] = {}
    tagged: set[str] = set()
    recent: set[str] = set()
    with contextlib.suppress(Exception):
        # Only images newer than root can have grown from it: a short list on a busy engine.
        for image in api.images(all=True, filters={"since": root}):
            children.setdefault(image.get("ParentId", ""), []).append(image["Id"])
            if any(tag != "<none>:<none>" for tag in image.get("RepoTags") or []):
                tagged.add(image["Id"])
            if int(image.get("Created", 0)) >= since:
                recent.add(image["Id"])
    candidates = [c for c in children.get(root, []) if c in recent and c not in tagged]
    todo = [root] if not running else [c for c in candidates if _made_for(api, c, running)]
    found: list[str] = list(todo) if running else []
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in tagged:
                found.append(child)
                todo.append(child)
    removed = 0
    for image_id in reversed(found):  # the newest first: an image with children cannot go
        with contextlib.suppress(Exception):
            removed += remove_image(api, image_id, noprune=True)
    return removed


def _made_for(api: Any, image_id: str, step: str) -> bool:
    """Was this image committed for the instruction `step` (its container ran that command)?"""
    try:
        attrs = api.inspect_image(image_id)
    except Exception:
        return False
    command = " ".join((attrs.get("ContainerConfig") or {}).get("Cmd") or [])
    words = step.split(maxsplit=1)
    return (words[1] if len(words) > 1 else step) in command
