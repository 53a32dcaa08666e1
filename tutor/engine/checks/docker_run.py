"""The learner writes a `docker run` command; it is parsed, validated and run in the sandbox."""

from __future__ import annotations

from dataclasses import dataclass

from tutor.engine.checks.base import Check, CheckContext, Verdict, failed, passed, register
from tutor.engine.checks.command import Command, judge
from tutor.engine.docker_run import DockerRunError, canonical, extract_command, parse_docker_run
from tutor.engine.driver import Sandbox
from tutor.engine.learner_files import LearnerFileRefused, read_learner_file


@register
@dataclass(kw_only=True, frozen=True)
class DockerRunCommand(Check):
    kind = "docker-run"
    default_hint = (
        "docker run [OPTIONS] IMAGE [COMMAND] [ARG...]: options come before the image name; "
        "anything after it is the command run inside the container."
    )
    file: str = "run.sh"  # the learner's file holding the command
    flags: tuple[str, ...] = ()  # switches that must be used, e.g. ["--rm"]
    env: dict[str, str] | None = None  # -e KEY=VALUE that must be set
    publish: tuple[int, ...] = ()  # container ports that must be published
    volumes: tuple[str, ...] = ()  # container paths that must get a named volume
    execute: bool = True  # also run it (to completion, sandboxed) and judge exit code and output
    exitCode: int = 0
    expectedOutput: tuple[str, ...] = ()
    excludedOutput: tuple[str, ...] = ()
    timeout: float = 20.0

    def describe(self) -> str:
        return f"the docker run command in {self.file}"

    def run(self, ctx: CheckContext) -> Verdict:
        try:
            text = read_learner_file(ctx.directory, self.file).decode("utf-8", errors="replace")
        except LearnerFileRefused as exc:
            return failed(f"there is no {self.file} in your folder: write your docker run command there" if exc.missing else str(exc))
        try:
            command = parse_docker_run(extract_command(text))
        except DockerRunError as exc:
            return failed(f"{self.file}: {exc}")
        used = {canonical(flag) for flag in command.flags_seen}
        for flag in self.flags:
            if canonical(flag) not in used:
                return failed(f"{self.file}: the command does not use {flag}")
        for key, value in (self.env or {}).items():
            if key not in command.env:
                return failed(f"{self.file}: the command does not set {key} (add -e {key}={value})")
            if value and command.env[key] != value:
                return failed(f"{self.file}: {key} is set to {command.env[key]!r}, expected {value!r}")
        for port in self.publish:
            if port not in command.published_ports and "publish_all" not in command.switches:
                return failed(f"{self.file}: container port {port} is not published (add -p {port}:{port})")
        mounted = {target for _, target in command.volumes}
        for target in self.volumes:
            if target not in mounted:
                return failed(f"{self.file}: no volume is mounted at {target} (add -v NAME:{target})")
        if not self.execute:
            return passed(f"{self.file}: {' '.join(command.flags_seen)} {command.image}")
        # Named volumes are validated above but not mounted: the sandbox run keeps no state.
        entrypoint = [command.values["entrypoint"]] if "entrypoint" in command.values else None
        outcome = ctx.image.run(
            command.args or None,
            entrypoint=entrypoint,
            environment=command.env or None,
            user=command.values.get("user"),
            timeout=self.timeout,
            sandbox=Sandbox(),
        )
        stand_in = Command(
            id=self.id, command=(), exitCode=self.exitCode, expectedOutput=self.expectedOutput,
            excludedOutput=self.excludedOutput, timeout=self.timeout,
        )
        verdict = judge(outcome, stand_in, {})
        message = verdict.message.replace("the image's CMD", f"your docker run ({command.image})")
        return Verdict(verdict.passed, message)
