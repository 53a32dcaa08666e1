"""What every builder does the same way: a wall-clock deadline, cancel, errors, leftovers.

A builder only says how to start its build stream (`_stream`), how to read it (`_log`) and what
a build that did not finish leaves behind (`_remove_leftovers`).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import docker
import requests.exceptions
import urllib3.exceptions

from tutor.engine.build_errors import step_failure
from tutor.engine.builders.outcome import BuildOutcome, BuildRequest
from tutor.engine.events import BuildFinished, EventSink
from tutor.engine.image_removal import remove_image
from tutor.errors import EngineUnavailable, TutorError

if TYPE_CHECKING:
    from tutor.engine.dockerhost import DockerHost

# What reading a build stream raises when the connection is cut (by our deadline, or the engine).
# Only reading is guarded: what the log reader raises (a builder's bug) surfaces as the bug it is.
# (A requests error is not among them: engine_errors reads it as an engine that went away.)
_STREAM_BROKEN = (
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
    AttributeError,  # urllib3 reading from a response whose socket a watchdog just closed
)
# The longest a cut build's leftovers are waited for: the engine commits the step it was running.
LEFTOVER_WAIT_SECONDS = 15.0
# The longest a build waits for its watchdog's last look at the running step (the engine's answers).
WATCH_JOIN_SECONDS = 60.0


class BuildLogReader(Protocol):
    tail: Any  # the last lines shown, oldest first

    def feed(self, chunk: dict[str, Any]) -> None: ...

    def finish(self) -> None: ...


class StreamBroken(Exception):
    """Reading the engine's stream failed: the connection was cut (by our deadline, or the engine)."""


def _chunks(stream: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The stream's chunks; a failure to read one raises StreamBroken, whatever the transport raised."""
    stream = iter(stream)
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


class StreamClient(docker.APIClient):
    """An APIClient that keeps the build's HTTP response, so a deadline can cut it off."""

    response: Any = None

    def _stream_helper(self, response: Any, decode: bool = False) -> Any:
        self.response = response
        return super()._stream_helper(response, decode=decode)


class Builder(ABC):
    """Builds one context into an image; the same guarantees whichever builder it is."""

    name: ClassVar[str]

    def __init__(self, host: DockerHost) -> None:
        self.host = host

    def build(self, request: BuildRequest, on_event: EventSink, cancel: threading.Event | None = None) -> BuildOutcome:
        """Build within request.timeout, streaming events; a cut or failed build leaves nothing."""
        from tutor.engine.dockerhost import engine_errors

        started = time.monotonic()
        outcome = BuildOutcome(ok=False, seconds=0.0, builder=self.name)
        stop = cancel or threading.Event()
        finished = threading.Event()
        api = StreamClient(**self.host.client_kwargs, version=self.host.api._version, timeout=None)
        reason: list[str] = []

        def watchdog() -> None:
            # The build API has no overall deadline: cut the stream, which makes the engine cancel it.
            deadline = started + request.timeout
            while not finished.wait(0.1):
                self._note_progress()
                if not reason:
                    if stop.is_set() or time.monotonic() > deadline:
                        reason.append("cancelled" if stop.is_set() else "timeout")
                    elif over := self._over_limit():
                        reason.append(over)
                if reason:
                    # Again at every tick until the stream ends: on a busy engine the answer may not
                    # have begun yet, and a cut before it would leave the build running.
                    _shutdown(api)

        log = self._log(outcome, on_event)
        guard = threading.Thread(target=watchdog, name="build-deadline", daemon=True)
        guard.start()
        try:
            with engine_errors("building the image"):
                for chunk in _chunks(self._stream(api, request)):
                    log.feed(chunk)  # outside the guard: a parser bug is never "the stream broke off"
        except EngineUnavailable:
            if not reason:
                raise
        except TutorError as exc:
            outcome.error = exc.message
        except StreamBroken as exc:
            if not reason:
                outcome.error = f"the build stream broke off: {exc}"
        finally:
            finished.set()
            _close(api)
            # A look at the running step may still be under way (it can start a reader container):
            # it ends before the build's leftovers are removed, so nothing it makes is missed.
            guard.join(timeout=WATCH_JOIN_SECONDS)
        if outcome.error and not reason:
            note = self._failure_note()
            outcome.error = f"{note}: {outcome.error}" if note else outcome.error
        log.finish()
        self._note_progress()
        if outcome.error.startswith("the build stream broke off"):
            self.host.ping()  # the engine went away mid-build: that is exit 3, not a learner's mistake
        if reason:
            said = {
                "cancelled": "the build was cancelled",
                "timeout": f"the build did not finish within {request.timeout:g} s and was stopped",
            }.get(reason[0], reason[0])
            # A step held at a limit until the deadline (BuildKit's, under its warden) says which.
            note = self._failure_note() if reason[0] == "timeout" else ""
            outcome.error = f"{note}, and {said}" if note else said
        # One message for a failed RUN step, whichever builder reported it (build_errors says why).
        outcome.error = step_failure(outcome.error) or outcome.error
        outcome.ok = bool(outcome.image_id) and not outcome.error
        outcome.log_tail = list(log.tail)
        if outcome.ok:
            self._check_image(outcome, request)
        outcome.seconds = time.monotonic() - started
        if not outcome.ok:
            self._untag_failed(outcome, request)
            self._remove_leftovers(outcome, cut=bool(reason))
        self._done()
        on_event(BuildFinished(outcome.ok, outcome.seconds, outcome.error))
        return outcome

    def _note_progress(self) -> None:  # noqa: B027 - a hook: most builders have nothing to note
        """Called a few times a second while the build runs (the classic builder notes its images)."""

    def _done(self) -> None:  # noqa: B027 - a hook: most builders have nothing to do
        """Called when the build's leftovers, if any, are gone."""

    def _over_limit(self) -> str:
        """Called a few times a second while the build runs: why it must stop now ("" if not)."""
        return ""

    def _failure_note(self) -> str:
        """A limit the build ran into, to say before the engine's error ("" if none)."""
        return ""

    def _check_image(self, outcome: BuildOutcome, request: BuildRequest) -> None:
        """The disk budget of a build, in bytes and in files: an image that adds more than either to
        its base is removed, and the build fails. Files are counted in an image that is kept (one
        with a tag): a check's untagged rebuild of an edited copy, removed when the grading ends,
        is the same Dockerfile as the image that passed the count."""
        from tutor.engine.builders.limits import human, max_added_bytes, max_build_files

        image = self.host.image_attrs(outcome.image_id) or {}
        base = self._base_attrs(outcome)
        added = int(image.get("Size", 0)) - (int(base.get("Size", 0)) if base else 0)
        if added > max_added_bytes():
            self._refuse_image(
                outcome,
                request,
                f"the build added {human(added)} to its base image, over the {human(max_added_bytes())} an "
                "exercise's image may add, and the image was removed",
            )
            return
        files = self.host.files_added(image, base, max_build_files()) if request.tag and image else None
        if files is not None and files > max_build_files():
            self._refuse_image(
                outcome,
                request,
                f"the build added {files:,} files and folders to its base image, over the {max_build_files():,} an "
                "exercise's image may add, and the image was removed",
            )

    def _refuse_image(self, outcome: BuildOutcome, request: BuildRequest, why: str) -> None:
        outcome.ok = False
        outcome.error = why
        # By the tag the build just gave it (an untagged rebuild's by id, through a tag of its own):
        # the same image checked under another tutor's tag stays theirs. Forced: no container uses it yet.
        with contextlib.suppress(Exception):
            remove_image(self.host.api, request.tag or outcome.image_id, force=True)

    def _untag_failed(self, outcome: BuildOutcome, request: BuildRequest) -> None:
        """A build stopped (or failed) just as it finished may have tagged its image: that tag goes
        (by name, so the same image under another tutor's tag stays theirs). A tag still on the
        folder's earlier image is the folder's cache and stays."""
        if not request.tag or not outcome.image_id:
            return
        with contextlib.suppress(Exception):
            if self.host.api.inspect_image(request.tag)["Id"] == outcome.image_id:
                self.host.api.remove_image(request.tag, force=False, noprune=False)

    def _base_attrs(self, outcome: BuildOutcome) -> dict[str, Any] | None:
        """The engine's attributes of the image the final stage starts FROM (None if it is a stage,
        scratch or unknown)."""
        base = outcome.base_image
        if not base:
            froms = [text for _, text in sorted(outcome.steps.items()) if text.upper().startswith("FROM ")]
            words = [w for w in froms[-1].split()[1:] if not w.startswith("--")] if froms else []
            base = words[0] if words else ""
        if not base or base == "scratch" or "$" in base:
            return None
        return self.host.image_attrs(base)

    @abstractmethod
    def _stream(self, api: StreamClient, request: BuildRequest) -> Iterator[dict[str, Any]]:
        """Start the build; yield the engine's decoded JSON messages."""

    @abstractmethod
    def _log(self, outcome: BuildOutcome, on_event: EventSink) -> BuildLogReader: ...

    @abstractmethod
    def _remove_leftovers(self, outcome: BuildOutcome, *, cut: bool) -> None:
        """Remove what a build that did not finish made (cut: stopped by deadline or cancel)."""


def _shutdown(api: StreamClient) -> None:
    """Wake a thread blocked reading the build stream; the engine then cancels the build."""
    response = api.response
    if response is None:
        return
    with contextlib.suppress(Exception):
        raw = api._get_raw_response_socket(response)
        getattr(raw, "_sock", raw).shutdown(socket.SHUT_RDWR)


def _close(api: StreamClient) -> None:
    with contextlib.suppress(Exception):
        if api.response is not None:
            api.response.close()
    with contextlib.suppress(Exception):
        api.close()
