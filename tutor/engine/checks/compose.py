"""Compose checks: the learner's compose.yaml, normalized and run by the real Compose.

Checks of the file (`compose.depends`, `compose.env`) read `compose config`; checks of the running
project (`compose.healthy`, `compose.reaches`, `compose.http`, `compose.logs`) share one project,
brought up by the first of them and taken down by the grader when grading ends. They see the
project only through tutor.engine.compose.project.ComposeProject.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass
from typing import Any

from tutor import locations
from tutor.engine.build_policy import allowed_bases
from tutor.engine.checks.base import Check, CheckContext, Verdict, failed, passed, register, search_all, search_any, shorten
from tutor.engine.checks.runtime import _ask
from tutor.engine.compose.policy import Limits
from tutor.engine.compose.project import ComposeError, ComposeProject
from tutor.engine.probers import hex_address, loopback_only

POLL = 0.3
# How long one look at what a service listens on may take (a `compose exec`) before it counts as no answer yet.
LISTEN_LOOK_SECONDS = 10.0
_LOOPBACK = re.compile(r"^(localhost|127\.\d+\.\d+\.\d+|::1|0\.0\.0\.0)$")


def _config(ctx: CheckContext) -> dict[str, Any]:
    """The normalized file, read once per grading."""
    return ctx.shared.get("compose-config", lambda _stack: ComposeProject(ctx.directory, exercise_id=ctx.exercise.id).config())


def _project(ctx: CheckContext) -> ComposeProject:
    """The learner's project, up and running; the grader takes it down when grading ends."""

    def start(stack: contextlib.ExitStack) -> ComposeProject:
        project = ctx.image.compose_project(
            ctx.directory,
            limits=Limits(),
            build_network=ctx.exercise.build.network,
            timeout=ctx.exercise.build.timeout,
            cancel=ctx.cancel,
            keep_images=ctx.keep_images,
            allowed_images=allowed_bases(ctx.exercise.path, locations.content_root()),
            build_memory_mb=ctx.exercise.build.memory_mb,
            buildkit_taught=ctx.exercise.build.buildkit,
        )
        return stack.enter_context(project.running())

    return ctx.shared.get("compose-project", start)


def _service(config: dict[str, Any], name: str) -> dict[str, Any] | None:
    return (config.get("services") or {}).get(name)


def _no_service(config: dict[str, Any], name: str) -> Verdict:
    names = ", ".join(sorted(config.get("services") or {})) or "none"
    return failed(f"the Compose file has no service named {name} (services: {names})")


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _why_not_running(project: ComposeProject, service: str) -> str:
    """'' if the service's container runs, else what happened to it, with its last log lines."""
    state = project.state(service)
    if state.get("Running") or state.get("Restarting"):
        return ""
    if not state:
        return f"{service} has no container: did compose up start it?"
    log = project.logs(service, tail=12)
    return f"{service} is not running (exited with code {state.get('ExitCode')}). Its log:\n{shorten(log, 600) or '(nothing)'}"


@register
@dataclass(kw_only=True, frozen=True)
class ComposeDepends(Check):
    """A service waits for another, with the condition given (service_healthy by default)."""

    kind = "compose.depends"
    needs_image = False
    default_hint = (
        "A plain depends_on only orders the start: the dependency's container has started, not that it "
        "answers. Give the dependency a healthcheck and write depends_on: {kv: {condition: service_healthy}}."
    )
    service: str  # the service that depends
    on: str  # the service it must wait for
    condition: str = "service_healthy"  # required: service_started, service_healthy or service_completed_successfully

    def describe(self) -> str:
        return f"{self.service} waits for {self.on} ({self.condition})"

    def run(self, ctx: CheckContext) -> Verdict:
        config = _config(ctx)
        service = _service(config, self.service)
        if service is None:
            return _no_service(config, self.service)
        depends = service.get("depends_on") or {}
        if isinstance(depends, list):
            depends = {name: {"condition": "service_started"} for name in depends}
        if self.on not in depends:
            return failed(f"{self.service} does not depend on {self.on}: add depends_on: {self.on} to {self.service}")
        condition = (depends[self.on] or {}).get("condition", "service_started")
        if condition != self.condition:
            why = ""
            if self.condition == "service_healthy":
                why = (
                    f": compose starts {self.service} as soon as {self.on}'s container has started, before {self.on} "
                    f"can answer. Missing health condition: write condition: service_healthy (and give {self.on} a healthcheck)"
                )
            return failed(f"{self.service} depends on {self.on} with condition {condition}, not {self.condition}{why}")
        if condition == "service_healthy" and not (_service(config, self.on) or {}).get("healthcheck"):
            return failed(f"{self.service} waits for {self.on} to be healthy, but {self.on} has no healthcheck")
        return passed(f"{self.service} waits for {self.on}: {condition}")


@register
@dataclass(kw_only=True, frozen=True)
class ComposeEnv(Check):
    """A service's environment variable is set, to a value matching a pattern."""

    kind = "compose.env"
    needs_image = False
    default_hint = (
        "Inside a container, localhost is that container itself. Services on one Compose network reach "
        "each other by service name: the host name of the kv service is kv."
    )
    service: str  # the service whose environment is read
    variable: str  # the variable that must be set; a value naming localhost or 127.0.0.1 fails, naming the mistake
    matches: str = ""  # the value must match (e.g. "^kv$"); empty: any value that is not a loopback address

    def describe(self) -> str:
        return f"{self.service} sets {self.variable}"

    def run(self, ctx: CheckContext) -> Verdict:
        config = _config(ctx)
        service = _service(config, self.service)
        if service is None:
            return _no_service(config, self.service)
        env = _environment(service)
        if self.variable not in env:
            return failed(f"{self.service} does not set {self.variable}: add it under environment:")
        value = env[self.variable]
        host = re.split(r"[:/]", value.split("://")[-1])[0]
        if _LOOPBACK.match(host):
            others = sorted(set(config.get("services") or {}) - {self.service})
            return failed(
                f"{self.service} sets {self.variable}={value}: a service name written as {host}. Inside the "
                f"{self.service} container, {host} is {self.service} itself; another service is reached by its "
                f"name ({', '.join(others)})"
            )
        if self.matches and not re.search(self.matches, value):
            return failed(f"{self.service} sets {self.variable}={value}, which does not match {self.matches!r}")
        return passed(f"{self.service}: {self.variable}={value}")


@register
@dataclass(kw_only=True, frozen=True)
class ComposeHealthy(Check):
    """A service of the running project reports healthy (its healthcheck passes)."""

    kind = "compose.healthy"
    default_hint = (
        "Give the service a healthcheck: test: [\"CMD\", ...] that exits 0 when it answers, with a short interval."
    )
    service: str  # the service whose healthcheck must pass
    timeout: float = 30.0

    def describe(self) -> str:
        return f"{self.service} becomes healthy"

    def run(self, ctx: CheckContext) -> Verdict:
        project = _project(ctx)
        if not (_service(_config(ctx), self.service) or {}).get("healthcheck"):
            if _service(_config(ctx), self.service) is None:
                return _no_service(_config(ctx), self.service)
            return failed(f"{self.service} has no healthcheck, so nothing can wait for it to be ready")
        started = time.monotonic()
        status = ""
        while time.monotonic() - started < self.timeout and not ctx.cancel.is_set():
            state = project.state(self.service)
            status = (state.get("Health") or {}).get("Status", "")
            if status == "healthy":
                return passed(f"{self.service} is healthy")
            if status == "unhealthy":
                log = ((state.get("Health") or {}).get("Log") or [{}])[-1]
                output = shorten(log.get("Output", ""), 300)
                return failed(f"{self.service} is unhealthy: its healthcheck exits {log.get('ExitCode')}: {output}")
            why = _why_not_running(project, self.service)
            if why:
                return failed(why)
            time.sleep(POLL)
        return failed(f"{self.service} was not healthy within {self.timeout:g} s (status: {status or 'starting'})")


@register
@dataclass(kw_only=True, frozen=True)
class ComposeReaches(Check):
    """From inside one service, another answers on a port by its host name (the service name)."""

    kind = "compose.reaches"
    default_hint = (
        "Services of one Compose project share a network on which each is reachable by its service name. "
        "Put both on the same network (the default one, if you name none)."
    )
    service: str  # the service the connection is made from (with python3, else busybox nc)
    host: str  # the host name dialled: usually another service's name
    port: int  # the TCP port dialled
    timeout: float = 20.0

    def describe(self) -> str:
        return f"{self.service} reaches {self.host}:{self.port} by name"

    def run(self, ctx: CheckContext) -> Verdict:
        project = _project(ctx)
        why = _why_not_running(project, self.service)
        if why:
            return failed(why)
        probe = (
            "import socket,sys\n"
            f"socket.create_connection(({self.host!r}, {self.port}), timeout=3).close()"
        )
        deadline = time.monotonic() + self.timeout
        output = ""
        while time.monotonic() < deadline and not ctx.cancel.is_set():
            try:
                code, output = project.exec(self.service, ["python3", "-c", probe])
                if code == 127 or "executable file not found" in output:  # no Python in the image: busybox nc
                    code, output = project.exec(self.service, ["nc", "-z", "-w", "3", self.host, str(self.port)])
            except ComposeError as exc:  # `compose exec` slower than its time on a busy engine: not the learner's
                code, output = -1, exc.message
            if code == 0:
                return passed(f"{self.service} connected to {self.host}:{self.port}")
            why = _why_not_running(project, self.service)
            if why:
                return failed(why)
            time.sleep(POLL)
        return failed(f"{self.service} could not connect to {self.host}:{self.port}: {shorten(output, 300) or 'no answer'}")


def _listening(project: ComposeProject, service: str, port: int) -> list[str]:
    """Addresses a service listens on for `port`, read from /proc (slim images have no ss); none
    known when they cannot be read in time (`compose exec` on a busy engine): the check asks again."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            code, output = project.exec(service, ["cat", table], timeout=LISTEN_LOOK_SECONDS)
        except ComposeError:
            return []
        if code != 0:
            continue
        for line in output.splitlines()[1:]:
            fields = line.split()
            if len(fields) > 3 and fields[3] == "0A" and ":" in fields[1]:  # LISTEN
                address, _, hex_port = fields[1].partition(":")
                if int(hex_port, 16) == port:
                    found.append(hex_address(address))
    return found


@register
@dataclass(kw_only=True, frozen=True)
class ComposeHttp(Check):
    """A service publishes a port, and it answers HTTP.

    The request comes from the tutor's prober on the service's own network (the project's networks
    reach nothing else and nothing is published on this machine); the file must still publish the
    port, as `docker compose up` needs it to on the learner's machine."""

    kind = "compose.http"
    default_hint = "Publish the service's port (ports: [\"8000:8000\"]) and make its server listen on 0.0.0.0."
    service: str  # the service that must answer
    port: int  # its container port, which it must publish (ports: in the file)
    path: str = "/"  # the request path
    method: str = "GET"
    body: str = ""  # request body (sent as JSON when it parses as JSON)
    status: int = 200
    expected_body: tuple[str, ...] = ()
    excluded_body: tuple[str, ...] = ()  # none may match the response body
    timeout: float = 30.0

    def describe(self) -> str:
        return f"{self.method} {self.path} on {self.service} answers {self.status}"

    def run(self, ctx: CheckContext) -> Verdict:
        config = _config(ctx)
        service = _service(config, self.service)
        if service is None:
            return _no_service(config, self.service)
        if not _publishes(service, self.port):
            return failed(f"{self.service} does not publish port {self.port}: add ports: [\"{self.port}:{self.port}\"]")
        project = _project(ctx)
        server = project.http(self.service, self.port)
        shown = f"{self.method} {self.path} on {self.service}"
        deadline = time.monotonic() + self.timeout
        last_error = "no answer"
        while time.monotonic() < deadline and not ctx.cancel.is_set():
            try:
                status, text = _ask(server, self.method, self.path, self.body)
            except ConnectionError as exc:
                last_error = str(exc)
                why = _why_not_running(project, self.service)
                if why:
                    return failed(why)
                listening = _listening(project, self.service, self.port)
                if loopback_only(listening):  # up, but it will never answer from outside
                    return failed(
                        f"{self.service} listens on {listening[0]}:{self.port} inside its container, which only the "
                        "container itself can reach: make it listen on 0.0.0.0 (e.g. --ip 0.0.0.0 or --host 0.0.0.0)"
                    )
                time.sleep(POLL)
                continue
            if status != self.status:
                log = project.logs(self.service, tail=6)
                return failed(f"{shown} answered {status}, expected {self.status}: {shorten(text, 200)}\nIts log:\n{shorten(log, 400)}")
            missing = search_all(self.expected_body, text)
            if missing:
                return failed(f"{shown} answered without a match for {missing[0]!r}: {shorten(text, 200)}")
            found = search_any(self.excluded_body, text)
            if found:
                return failed(f"{shown} answered with {found[0]!r}, which it should not: {shorten(text, 200)}")
            return passed(f"{shown} -> {status} {shorten(text, 120)}")
        return failed(f"nothing answered {shown} within {self.timeout:g} s ({last_error})")


def _publishes(service: dict[str, Any], port: int) -> bool:
    """Whether the file publishes the container port (Compose's short or long syntax)."""
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            target = entry.get("target")
        else:
            target = str(entry).partition("/")[0].rsplit(":", 1)[-1]
        if str(target).split("-")[0] == str(port):
            return True
    return False


@register
@dataclass(kw_only=True, frozen=True)
class ComposeLogs(Check):
    """A service's log shows (or never shows) what it should, within a time limit."""

    kind = "compose.logs"
    default_hint = "docker compose logs SERVICE shows what the service printed."
    service: str  # the service whose log is read (docker compose logs SERVICE)
    expectedOutput: tuple[str, ...] = ()  # each must appear in the log, within the timeout (earlier if the service stops)
    excludedOutput: tuple[str, ...] = ()  # none may appear in the log
    timeout: float = 15.0

    def describe(self) -> str:
        return f"the log of {self.service}"

    def run(self, ctx: CheckContext) -> Verdict:
        project = _project(ctx)
        deadline = time.monotonic() + self.timeout
        log = ""
        while not ctx.cancel.is_set():
            log = project.logs(self.service, tail=200)
            found = search_any(self.excludedOutput, log)
            if found:
                return failed(f"the log of {self.service} shows {found[0]!r}:\n{shorten(log, 400)}")
            missing = search_all(self.expectedOutput, log)
            if not missing:
                return passed(f"the log of {self.service} shows what it should")
            stopped = not project.state(self.service).get("Running")  # its log will not change
            if stopped or time.monotonic() > deadline:
                return failed(f"the log of {self.service} has no match for {missing[0]!r}:\n{shorten(log, 400) or '(empty)'}")
            time.sleep(POLL)
        return failed("cancelled")


@register
@dataclass(kw_only=True, frozen=True)
class ComposeExec(Check):
    """A command run in a running service (docker compose exec) exits and prints as expected."""

    kind = "compose.exec"
    default_hint = "docker compose exec SERVICE COMMAND runs a command in the service's running container."
    service: str  # the service to run it in
    command: tuple[str, ...]  # the command and its arguments, e.g. ["id", "-u"]
    exitCode: int = 0
    expectedOutput: tuple[str, ...] = ()
    excludedOutput: tuple[str, ...] = ()
    timeout: float = 20.0

    def describe(self) -> str:
        return f"{' '.join(self.command)} in {self.service}"

    def run(self, ctx: CheckContext) -> Verdict:
        project = _project(ctx)
        why = _why_not_running(project, self.service)
        if why:
            return failed(why)
        shown = f"{' '.join(self.command)} in {self.service}"
        code, output = project.exec(self.service, list(self.command), timeout=self.timeout)
        if code != self.exitCode:
            return failed(f"{shown} exited {code}, expected {self.exitCode}: {shorten(output, 300)}")
        missing = search_all(self.expectedOutput, output)
        if missing:
            return failed(f"{shown} printed no match for {missing[0]!r}: {shorten(output, 300) or '(nothing)'}")
        found = search_any(self.excludedOutput, output)
        if found:
            return failed(f"{shown} printed {found[0]!r}, which it should not: {shorten(output, 300)}")
        return passed(f"{shown}: {shorten(output, 120)}")
