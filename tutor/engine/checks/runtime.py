"""Run-time behaviour: an HTTP endpoint answers, health becomes healthy, stop is quick, not root."""

from __future__ import annotations

import contextlib
import json
import re
import time
from dataclasses import dataclass

from tutor.engine.checks.base import Check, CheckContext, Verdict, failed, passed, register, search_all, shorten
from tutor.engine.driver import HttpService, Service
from tutor.engine.probers import loopback_only
from tutor.engine.sanitize import clean_text
from tutor.errors import TutorError

POLL = 0.2


def _exposed_port(ctx: CheckContext, port: int) -> int | None:
    if port:
        return port
    exposed = sorted(ctx.config.get("ExposedPorts") or {})
    return int(exposed[0].split("/")[0]) if exposed else None


def _logs(container: Service) -> str:
    with contextlib.suppress(Exception):
        return shorten(container.logs(tail=40))
    return ""


@register
@dataclass(kw_only=True, frozen=True)
class Http(Check):
    """The container serves HTTP on its exposed port, asked by a prober on a network of their own."""

    kind = "http"
    default_hint = (
        "Inside a container, a server must listen on 0.0.0.0 (all interfaces): 127.0.0.1 is the "
        "container's own loopback, which nothing outside the container can reach. EXPOSE the port too."
    )
    path: str = "/"
    port: int = 0  # container port; 0: the first EXPOSEd one
    method: str = "GET"
    body: str = ""  # request body (sent as JSON when it parses as JSON)
    status: int = 200  # 0: any answer will do (the server is reachable)
    expected_body: tuple[str, ...] = ()
    json: bool = False  # the answer must be JSON
    timeout: float = 30.0  # to wait for the server to answer

    def describe(self) -> str:
        return f"{self.method} {self.path} answers" + (f" {self.status}" if self.status else "")

    def run(self, ctx: CheckContext) -> Verdict:
        port = _exposed_port(ctx, self.port)
        if port is None:
            return failed("the image exposes no port: add EXPOSE 8000 (or the port your server uses)")
        # Its own isolated network, with a prober as the only client: the server reaches nothing.
        with ctx.image.http_service(port) as container:
            deadline = time.monotonic() + self.timeout
            last_error = ""
            while time.monotonic() < deadline and not ctx.cancel.is_set():
                state = container.state()
                if not state.running:
                    code = state.exit_code
                    return failed(f"the container exited (code {code}) before answering. Its output:\n{_logs(container)}")
                try:
                    status, text = _ask(container, self.method, self.path, self.body)
                    return self._judge(status, text)
                except ConnectionError as exc:
                    last_error = str(exc)
                    # A server that is up but bound to loopback will never answer: say so at once.
                    if loopback_only(container.listening()):
                        break
                    time.sleep(POLL)
            listening = container.listening()
            if loopback_only(listening):
                return failed(
                    f"the server listens on {listening[0]}:{port} inside the container, which only the container "
                    "itself can reach: bind to 0.0.0.0 instead (e.g. --host 0.0.0.0)"
                )
            return failed(
                f"nothing answered on port {port} within {self.timeout:g} s ({last_error or 'no answer'}). "
                f"Container output:\n{_logs(container) or '(nothing)'}"
            )

    def _judge(self, status: int, text: str) -> Verdict:
        shown = f"{self.method} {self.path}"
        if self.status and status != self.status:
            return failed(f"{shown} answered {status}, expected {self.status}: {shorten(text, 200)}")
        if self.json:
            try:
                json.loads(text)
            except ValueError:
                return failed(f"{shown} answered, but not with JSON: {shorten(text, 200)}")
        missing = search_all(self.expected_body, text)
        if missing:
            return failed(f"{shown} answered without a match for {missing[0]!r}: {shorten(text, 200)}")
        return passed(f"{shown} -> {status} {shorten(text, 120)}")


def _headers(body: str) -> dict[str, str]:
    headers = {}
    if body:
        with contextlib.suppress(ValueError):
            json.loads(body)
            headers["Content-Type"] = "application/json"
    return headers


def _ask(server: HttpService, method: str, path: str, body: str) -> tuple[int, str]:
    status, payload = server.request(method, path, body, _headers(body))
    return status, clean_text(payload[:65536], limit=4000)


@register
@dataclass(kw_only=True, frozen=True)
class Healthy(Check):
    """The image's HEALTHCHECK reports healthy within a time limit."""

    kind = "health"
    default_hint = (
        "A HEALTHCHECK is a command Docker runs inside the container every interval: exit 0 means healthy. "
        "It must ask the service itself and fail when it does not answer; slim images have no curl, but "
        "Python's urllib raises when nothing answers."
    )
    timeout: float = 40.0
    # A health check that passes with the service down is worse than none.
    fails_when_down: bool = True  # also run the health command where the service never started: it must fail

    def describe(self) -> str:
        return "becomes healthy"

    def run(self, ctx: CheckContext) -> Verdict:
        test = list((ctx.config.get("Healthcheck") or {}).get("Test") or [])
        if not test or test[0] == "NONE":
            return failed("the image has no HEALTHCHECK, so Docker cannot tell whether it works")
        if self.fails_when_down:
            verdict = self._down(ctx, test)
            if verdict is not None:
                return verdict
        started = time.monotonic()
        status, last_exit = "", None
        with ctx.image.service() as container:
            while time.monotonic() - started < self.timeout and not ctx.cancel.is_set():
                state = container.state()
                status, last_exit = state.health, state.health_exit_code
                if status == "healthy":
                    return passed(f"healthy after {time.monotonic() - started:.1f} s")
                # A probe that ran out of its time (exit -1) says how busy the machine is, not what the
                # program answered: wait on, to this check's deadline, for one that answers.
                if status == "unhealthy" and state.health_exit_code != -1:
                    return failed(
                        f"the health check reported unhealthy (exit {state.health_exit_code}): "
                        f"{shorten(state.health_output, 300)}"
                    )
                if not state.running:
                    return failed(f"the container exited before it became healthy. Its output:\n{_logs(container)}")
                time.sleep(POLL)
            timed_out = " (its last probe ran out of time)" if last_exit == -1 else ""
            return failed(f"not healthy within {self.timeout:g} s (status: {status or 'starting'}){timed_out}")

    def _down(self, ctx: CheckContext, test: list[str]) -> Verdict | None:
        """Run the health command where the service never started: it must report the failure."""
        if test[0] == "CMD-SHELL":
            entrypoint, command = ["/bin/sh", "-c"], test[1:]
        else:
            entrypoint, command = test[1:2], test[2:]
        # The health command is the container's only process: nothing listens, nothing serves.
        outcome = ctx.image.run(command or None, entrypoint=entrypoint, timeout=20)
        if outcome.timed_out or outcome.exit_code != 0:
            return None
        return failed(
            "the HEALTHCHECK command succeeds even when the server is not running (it exited 0 in a container "
            "where nothing was started), so it would call a dead service healthy: make it ask the service itself"
        )


@register
@dataclass(kw_only=True, frozen=True)
class StopsQuickly(Check):
    """`docker stop` ends the container quickly and cleanly: PID 1 handles SIGTERM."""

    kind = "stop"
    default_hint = (
        "docker stop sends SIGTERM to PID 1 and kills it after a grace period. Use the exec form "
        '(CMD ["python", "serve.py"]) so your program is PID 1, and let it exit on SIGTERM.'
    )
    max_seconds: float = 3.0
    exit_codes: tuple[int, ...] = (0, 143)
    ready_seconds: float = 1.0  # let the program start before stopping it
    # Then, up to this long, until PID 1 has installed its SIGTERM handler: on a loaded machine a
    # program may take longer than ready_seconds to get there, and a PID 1 without a handler yet
    # ignores SIGTERM. A program that never installs one is stopped when this runs out (short: a
    # program without a handler that ends by itself meanwhile would pass).
    handler_wait: float = 1.0  # seconds to wait, after ready_seconds, for PID 1's SIGTERM handler
    # A stop slower than max_seconds fails anyway: a longer grace would only slow failing checks.
    grace: int = 3  # seconds docker stop waits before SIGKILL

    def describe(self) -> str:
        return f"docker stop takes under {self.max_seconds:g} s"

    def run(self, ctx: CheckContext) -> Verdict:
        with ctx.image.service() as container:
            time.sleep(self.ready_seconds)
            caught = _wait_for_sigterm_handler(container, self.handler_wait)
            state = container.state()
            if not state.running:
                return failed(
                    f"the container had already exited (code {state.exit_code}) before it was "
                    f"stopped: its main process must keep running. Output:\n{_logs(container)}"
                )
            started = time.monotonic()
            container.stop(self.grace)
            seconds = time.monotonic() - started
            code = container.state().exit_code
        if caught is False and code != 137:
            # A PID 1 without a handler ignores SIGTERM: exiting during the grace period, it ended by
            # itself (a slow machine let it get there), which proves nothing about the stop.
            return failed(
                f"the container exited with code {code} {seconds:.1f} s after docker stop, but its main process never "
                "caught SIGTERM: it ended by itself while docker stop waited, and a longer run would have been killed (137)"
            )
        if code == 137 or seconds > self.max_seconds:
            return failed(
                f"docker stop took {seconds:.1f} s and the container exited with code {code}"
                + (" (137: killed after the grace period, SIGTERM was ignored)" if code == 137 else "")
            )
        if code not in self.exit_codes:
            return failed(f"the container exited with code {code} on SIGTERM; expected one of {list(self.exit_codes)}")
        return passed(f"stopped in {seconds:.2f} s with exit code {code}")


def _wait_for_sigterm_handler(container: Service, seconds: float) -> bool | None:
    """Wait until PID 1 catches SIGTERM (its SigCgt mask), at most `seconds`. True: it does; False:
    it still did not when the time ran out; None, at once: its state cannot be read, or PID 1 is a
    shell that never will."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            status = container.main_process_status()
        except TutorError:  # it exited meanwhile: the check says so
            return None
        if status is None:
            return None
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        try:
            caught = int(fields.get("SigCgt", "0").strip(), 16)
        except ValueError:
            return None
        if caught & (1 << (15 - 1)):
            return True
        if fields.get("Name", "").strip() in ("sh", "bash", "dash"):
            return None
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL)


@register
@dataclass(kw_only=True, frozen=True)
class NonRoot(Check):
    """The container's process does not run as root."""

    kind = "user"
    default_hint = (
        "Without USER the process runs as root, with root's power over the container. Create an "
        "unprivileged user while the build still runs as root, give it only the folders it writes, "
        "and switch to it before CMD."
    )

    def describe(self) -> str:
        return "runs as a non-root user"

    def run(self, ctx: CheckContext) -> Verdict:
        configured = ctx.config.get("User") or ""
        if configured.split(":")[0] in ("", "root", "0"):
            return failed("the image runs as root (no USER instruction, or USER root)")
        outcome = ctx.image.run(["-u"], entrypoint=["id"], timeout=15)
        uid = outcome.stdout.strip()
        if outcome.exit_code != 0 or not re.fullmatch(r"\d+", uid):
            return failed(f"could not run id -u as USER {configured}: {shorten(outcome.output, 200) or 'no output'} (does the user exist?)")
        if uid == "0":
            return failed(f"USER {configured} is uid 0, which is root")
        return passed(f"runs as USER {configured} (uid {uid})")
