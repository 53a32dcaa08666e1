"""BuildKit through the plain build API (`POST /build?version=2`): no buildx, no client session.

The engine streams BuildKit's progress as `moby.buildkit.trace` messages (see trace.py); this
module turns them into the log `docker build --progress=plain` prints and into per-step facts
(the cached flag of each step comes from BuildKit itself, not from parsing text).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tutor.engine.builders.base import Builder, StreamClient
from tutor.engine.builders.limits import build_pids, buildkit_step_bytes, human
from tutor.engine.builders.outcome import BuildOutcome, BuildRequest
from tutor.engine.builders.step_limits import FORK_REFUSED
from tutor.engine.builders.step_warden import StepWarden, step_warden
from tutor.engine.builders.trace import Status, Vertex, decode
from tutor.engine.context import build_context_tar
from tutor.engine.events import BuildOutput, BuildStep, EventSink, StepCached
from tutor.engine.image_removal import remove_image
from tutor.engine.sanitize import clean_line, clean_text

# The build argument BuildKit's Dockerfile frontend puts in front of every cache mount's id.
CACHE_NAMESPACE_ARG = "BUILDKIT_CACHE_MOUNT_NS"

# "[2/4] RUN ...", "[builder 1/2] FROM ...", "[linux/amd64 stage-1 3/3] COPY ..."
_STEP_NAME = re.compile(r"^\[(?:(?P<stage>[^\]]*?) )?(?P<index>\d+)/(?P<total>\d+)\] (?P<text>.*)$", re.S)
_FROM_LINE = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*\S+(?:\s+AS\s+(?P<name>\S+))?\s*$", re.I | re.M)
_ERROR_CONTEXT_LINES = 10  # a failed step's last lines, repeated under its error as the CLI does
# A step the kernel killed (SIGKILL: the memory limit's OOM kill), in BuildKit's words.
_KILLED = re.compile(r"exit code: 137\b")


@dataclass(slots=True)
class _VertexState:
    index: int
    vertex: Vertex
    step: int = 0  # 0: not a Dockerfile step ("[internal] load build context", "exporting to image")
    ended: float | None = None  # the start time of the run whose end was printed
    done_statuses: set[str] = field(default_factory=set)
    partial: str = ""  # a log line still waiting for its newline
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=_ERROR_CONTEXT_LINES))


class PlainProgress:
    """BuildKit's trace -> the lines of `docker build --progress=plain`, and the build's steps.

    As the CLI's plain printer: each vertex numbered in order of first appearance (`#5`), a
    header when output switches to it, its output lines with their time since it started, and
    `CACHED`, `DONE 0.3s`, `ERROR: ...` or `CANCELED` when it completes. The CLI of Engine 20.10
    also printed each vertex's digest under its header; later CLIs dropped that line, and so
    does this log.
    """

    def __init__(self, outcome: BuildOutcome, on_event: EventSink, final_stage: str | None = None) -> None:
        self.outcome = outcome
        self.on_event = on_event
        self.final_stage_name = final_stage
        self.tail: deque[str] = deque(maxlen=60)
        self._vertexes: dict[str, _VertexState] = {}
        self._stages: dict[int, str] = {}  # step -> stage name
        self._current = ""  # digest of the vertex whose output is being printed

    # --- the engine's JSON messages ------------------------------------------------------
    def feed(self, chunk: dict[str, Any]) -> None:
        if chunk.get("id") == "moby.buildkit.trace" and isinstance(chunk.get("aux"), str):
            self.update(decode(chunk["aux"]))
        elif chunk.get("id") == "moby.image.id" and isinstance(chunk.get("aux"), dict):
            self.outcome.image_id = str(chunk["aux"].get("ID", ""))
        elif "error" in chunk:
            self.outcome.error = clean_text(str(chunk["error"]), limit=2000).strip()
        elif "stream" in chunk:  # the engine's own notes, e.g. a pull before the solve
            for raw in str(chunk["stream"]).splitlines():
                line = clean_line(raw).strip()
                # The engine's "Successfully tagged" is the legacy CLI's line, not BuildKit's.
                if line and not line.startswith(("Successfully tagged", "Successfully built")):
                    self._show(line)

    def finish(self) -> None:
        for digest, state in self._vertexes.items():
            if state.partial:
                self._switch(digest)
                self._show(state.partial)
                state.partial = ""
        failed = [state for state in self._vertexes.values() if state.vertex.error and not _cancelled(state.vertex.error)]
        if self.outcome.error and failed:
            # The CLI's summary under a failed build: the step, its last lines, the error.
            state = failed[0]
            self._show("------")
            self._show(f" > {state.vertex.name}:")
            for line in state.lines:
                self._show(line)
            self._show("------")
        if self.outcome.error:
            self._show(self.outcome.error)
        steps = self.outcome.steps
        # BuildKit names a vertex once for every build that shares it (its cache), so one stage's
        # steps may carry another build's stage prefix: with one stage, every step is the final one.
        final = self.final_stage_name
        if final is None:
            stage = sorted(steps)
        else:
            stage_of_last = self._stages.get(max(steps), "") if steps else ""
            wanted = final if final in self._stages.values() else stage_of_last
            stage = [n for n in sorted(steps) if self._stages.get(n) == wanted]
        self.outcome.final_stage = [n for n in stage if not steps[n].upper().startswith("FROM ")]
        bases = [steps[n].split()[1] for n in stage if steps[n].upper().startswith("FROM ") and len(steps[n].split()) > 1]
        self.outcome.base_image = bases[0] if bases else ""

    def unfinished_window(self) -> tuple[float, float] | None:
        """From the start of the first step that failed or never finished to the end of the last
        (now, for one still running): seconds since the epoch, as BuildKit stamps them."""
        states = [s.vertex for s in self._vertexes.values() if s.step and s.vertex.started is not None]
        unfinished = [v for v in states if v.error or v.completed is None]
        if not unfinished:
            return None
        ends = [v.completed if v.completed is not None else time.time() for v in unfinished]
        return min(v.started for v in unfinished if v.started is not None), max(ends)

    # --- one StatusResponse --------------------------------------------------------------
    def update(self, status: Status) -> None:
        changed: list[str] = []
        for vertex in status.vertexes:
            state = self._vertexes.get(vertex.digest)
            if state is None:
                state = self._vertexes[vertex.digest] = _VertexState(len(self._vertexes) + 1, vertex)
                self._count_step(state)
            previous = state.vertex
            # A repeated announcement of a started vertex must not reset it.
            if not (previous.started is not None and vertex.started is None):
                state.vertex = vertex
            if vertex.started is not None and (
                previous.started != vertex.started
                or (vertex.completed is not None and previous.completed != vertex.completed)
                or previous.cached != vertex.cached
                or previous.error != vertex.error
                or previous is vertex
            ):
                changed.append(vertex.digest)
        for vertex_status in status.statuses:
            if vertex_status.vertex in self._vertexes:
                self._status(vertex_status)
        for log in status.logs:
            if log.vertex in self._vertexes:
                self._log(log.vertex, log.timestamp, log.data)
        for digest in dict.fromkeys(changed):
            self._completion(digest)

    def _count_step(self, state: _VertexState) -> None:
        match = _STEP_NAME.match(state.vertex.name)
        if match is None:
            return
        state.step = len(self._stages) + 1
        text = clean_line(match.group("text"))
        self._stages[state.step] = match.group("stage") or ""
        self.outcome.steps[state.step] = text
        self.outcome.total_steps = len(self._stages)

    def _switch(self, digest: str) -> None:
        if digest == self._current:
            return
        if self._current:
            self._show(f"#{self._vertexes[self._current].index} ...")
        state = self._vertexes[digest]
        self._show("")
        self._show(f"#{state.index} {clean_line(state.vertex.name)[:200]}")
        self._current = digest
        if state.step:
            self.on_event(BuildStep(state.step, self.outcome.total_steps, self.outcome.steps[state.step], logged=True))

    def _status(self, status: Any) -> None:
        state = self._vertexes[status.vertex]
        if status.completed is None or status.id in state.done_statuses:
            return  # only finished transfers are shown: the plain printer's ticks would flood the log
        state.done_statuses.add(status.id)
        self._switch(status.vertex)
        amount = f" {_human(status.current)}" if status.current else ""
        if status.total:
            amount = f" {_human(status.current)} / {_human(status.total)}"
        took = ""
        if status.started is not None and status.completed - status.started > 0.01:
            took = f" {status.completed - status.started:.1f}s"
        self._show(f"#{state.index} {clean_line(status.id)}{amount}{took} done")

    def _log(self, digest: str, timestamp: float | None, data: bytes) -> None:
        state = self._vertexes[digest]
        text = state.partial + data.decode("utf-8", errors="replace")
        *complete, state.partial = text.split("\n")
        if not complete:
            return
        self._switch(digest)
        started = state.vertex.started
        seconds = (timestamp - started) if timestamp is not None and started is not None else 0.0
        stamp = f"{seconds:.3f}" if seconds < 10 else f"{seconds:.2f}" if seconds < 100 else f"{seconds:.1f}"
        for raw in complete:
            line = f"#{state.index} {stamp} {clean_line(raw)}"
            state.lines.append(line)
            self._show(line)

    def _completion(self, digest: str) -> None:
        state = self._vertexes[digest]
        vertex = state.vertex
        if vertex.completed is None and not vertex.cached:
            self._switch(digest)  # started: its header now, as the CLI prints it
            return
        if state.ended is not None and state.ended == vertex.started:
            return  # announced again (a vertex two stages share): its end is printed once
        state.ended = vertex.started
        self._switch(digest)
        if vertex.error:
            word = "CANCELED" if _cancelled(vertex.error) else f"ERROR: {clean_line(vertex.error)}"
            self._show(f"#{state.index} {word}")
        elif vertex.cached:
            self._show(f"#{state.index} CACHED")
            if state.step:
                self.outcome.cached.add(state.step)
                self.on_event(StepCached(state.step, logged=True))
        elif vertex.completed is not None:
            took = vertex.completed - vertex.started if vertex.started is not None else 0.0
            self._show(f"#{state.index} DONE {took:.1f}s")
        if vertex.completed is not None:
            self._current = ""

    def _show(self, line: str) -> None:
        self.tail.append(line)
        self.on_event(BuildOutput(line))


def _cancelled(error: str) -> bool:
    return error.endswith("context canceled")


def _human(size: int) -> str:
    """Bytes as the CLI shows them (go-units' HumanSize: 34B, 1.23kB, 12.3MB)."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.4g}{unit}" if unit != "B" else f"{int(value)}B"
        value /= 1000
    return f"{size}B"


def final_stage_name(dockerfile: Path) -> str | None:
    """The stage name BuildKit's frontend gives the last stage's steps (None: only one stage)."""
    try:
        text = dockerfile.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    froms = list(_FROM_LINE.finditer(text))
    if len(froms) < 2:
        return None
    return (froms[-1].group("name") or f"stage-{len(froms) - 1}").lower()


class BuildKitBuilder(Builder):
    name = "buildkit"

    def build(self, request: BuildRequest, on_event: EventSink, cancel: threading.Event | None = None) -> BuildOutcome:
        # The warden goes with the build however it ends: finished, failed, cut, or Ctrl-C.
        self._warden_stack = contextlib.ExitStack()
        self._warden: StepWarden | None = None
        with self._warden_stack:
            return super().build(request, on_event, cancel)

    def _log(self, outcome: BuildOutcome, on_event: EventSink) -> PlainProgress:
        self._reader = PlainProgress(outcome, on_event)
        return self._reader

    def _over_limit(self) -> str:
        """A step of this build said a fork was refused: it reached the process limit its warden
        wrote (its own log is what ties a held step to this build), so the build stops now."""
        warden = self._warden
        if warden is None or not FORK_REFUSED.search("\n".join(self._reader.tail)):
            return ""
        return (
            f"a build step tried to run more than {warden.pids} processes at once and the build was stopped "
            "(a loop that starts processes without end?)"
        )

    def _failure_note(self) -> str:
        """The limit a step ran into, where a warden held the steps (step_warden.py): a refused
        fork in the step's log or seen by the warden while the step ran (a step may print nothing
        of it), or a step killed as the kernel kills one over its memory."""
        warden = self._warden
        if warden is None:
            return ""
        if FORK_REFUSED.search("\n".join(self._reader.tail)):
            return f"a build step tried to run more than {warden.pids} processes at once"
        window = self._reader.unfinished_window()
        limit = warden.limit_reached(*window) if window else 0
        if limit:
            return f"a build step tried to run more than {limit} processes at once"
        written = warden.disk_stopped(*window) if window else 0
        if written:
            return f"a build step wrote {human(written)}, over the {human(buildkit_step_bytes())} a BuildKit step may hold, and was stopped"
        if _KILLED.search(self._reader.outcome.error):
            return f"a build step was killed, as one is when it goes over the build's {warden.memory_mb} MB of memory"
        return ""

    def _stream(self, api: StreamClient, request: BuildRequest) -> Iterator[dict[str, Any]]:
        from tutor.engine.dockerhost import image_labels

        self._reader.final_stage_name = request.target.lower() or final_stage_name(request.context / request.dockerfile)
        params: dict[str, Any] = {
            "version": "2",
            "dockerfile": request.dockerfile,
            "rm": "1",
            "forcerm": "1",
            "pull": "0",
            # A label as a parameter: BuildKit writes it into the image config, adding no step.
            # The owner id (stable per data folder) is what `clean` removes.
            "labels": json.dumps({**dict(request.labels), **image_labels(request.exercise_id, request.folder_key)}),
        }
        if request.tag:
            params["t"] = request.tag
        if not request.network:
            params["networkmode"] = "none"
        # Every cache mount's id goes under a namespace private to this owner and folder: the
        # tutor's value wins over any the learner gives (build_policy refuses one too).
        params["buildargs"] = json.dumps({**dict(request.build_args), CACHE_NAMESPACE_ARG: request.cache_namespace})
        if request.target:
            params["target"] = request.target
        # BuildKit's steps get the build's process and memory limits from a warden, ready before
        # the build starts (None where the engine cannot give them).
        self._warden = self._warden_stack.enter_context(
            step_warden(self.host, pids=build_pids(), memory_mb=request.memory_mb, exercise_id=request.exercise_id)
        )
        context = build_context_tar(request.context, request.dockerfile)
        self._context = context
        response = api._post(
            api._url("/build"),
            data=context,
            params=params,
            headers={"Content-Type": "application/x-tar"},
            stream=True,
            timeout=None,
        )
        api._raise_for_status(response)
        return api._stream_helper(response, decode=True)

    def _done(self) -> None:
        with contextlib.suppress(Exception):
            self._context.close()

    def _remove_leftovers(self, outcome: BuildOutcome, *, cut: bool) -> None:
        """BuildKit's step containers are not the engine's containers and its intermediate
        results are build cache, not images: only a finished image can be left over."""
        if outcome.image_id:
            with contextlib.suppress(Exception):
                remove_image(self.host.api, outcome.image_id)  # an identical build's image under another tag stays

