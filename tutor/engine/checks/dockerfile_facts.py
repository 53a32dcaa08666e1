"""Checks on the Dockerfile itself, judged from its parsed instructions before any build."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from tutor.engine.checks.base import Check, CheckContext, Verdict, failed, passed, register
from tutor.engine.dockerfile import Dockerfile, Stage, split_reference
from tutor.engine.pid_one import ends_with_exec, last_command, shell_runner
from tutor.words import plural


class _DockerfileCheck(Check):
    needs_image = False
    needs_engine = False

    def stages(self, ctx: CheckContext, which: str) -> tuple[Stage, ...]:
        assert ctx.dockerfile is not None
        all_stages = ctx.dockerfile.stages
        return all_stages if which == "any" else all_stages[-1:]


@register
@dataclass(kw_only=True, frozen=True)
class BaseImage(_DockerfileCheck):
    """The final stage starts from the expected image, pinned to a tag (or a digest)."""

    kind = "dockerfile.base"
    default_hint = "Start from a small official image with an exact tag, e.g. FROM python:3.11-slim."
    image: str = ""  # "python" or "python:3.11-slim"; empty: any
    pinned: bool = False  # an explicit tag other than latest
    digest: bool = False  # pinned by @sha256:...
    stage: str = "final"

    def describe(self) -> str:
        what = f"starts FROM {self.image}" if self.image else "has a base image"
        return what + (" pinned by digest" if self.digest else " with a pinned tag" if self.pinned else "")

    def run(self, ctx: CheckContext) -> Verdict:
        stages = self.stages(ctx, self.stage)
        aliases = {s.alias for s in ctx.dockerfile.stages if s.alias} if ctx.dockerfile else set()
        for stage in stages:
            if stage.base in aliases:
                continue  # FROM an earlier stage: judged where that stage starts
            name, tag, digest = split_reference(stage.base)
            where = f"FROM {stage.base} (line {stage.instructions[0].line})"
            if self.image:
                want_name, want_tag, _ = split_reference(self.image)
                if want_tag and name == want_name and not tag and not digest:
                    return failed(
                        f"{where} has no tag, which means latest: whatever is newest on the day you build. Write FROM {self.image}"
                    )
                if name.removeprefix("docker.io/").removeprefix("library/") != want_name or (want_tag and tag != want_tag):
                    return failed(f"{where}: the base image should be {self.image}")
            if self.digest and not digest:
                return failed(f"{where} is not pinned by digest: add @sha256:... so the base can never change under you")
            if self.pinned and not digest and tag in ("", "latest"):
                return failed(
                    f"{where} uses {'no tag' if not tag else 'the tag latest'}, which means whatever is newest "
                    "on the day you build: name an exact tag such as python:3.11-slim"
                )
        return passed(f"FROM {', '.join(s.base for s in stages)}")


INSTRUCTION_HINTS = {
    "USER": "Create an unprivileged user and switch to it with USER before CMD, so the container does not run as root.",
    "WORKDIR": "WORKDIR /app creates the folder and makes it current for later steps and for the container.",
    "EXPOSE": "EXPOSE documents the port your server listens on; docker run -P publishes it.",
    "HEALTHCHECK": "HEALTHCHECK CMD ... lets Docker test that the service works; slim images have no curl, so use python -c.",
    "ENV": "ENV sets a variable in the image, for every later step and for the container at run time.",
    "ARG": "ARG declares a build-time variable (docker build --build-arg); it is gone at run time.",
    "LABEL": "LABEL key=value records metadata in the image, e.g. org.opencontainers.image.source.",
    "VOLUME": "VOLUME /data marks a folder whose data lives outside the container's writable layer.",
    "ADD": "Use COPY for local files: ADD also fetches URLs and unpacks archives, which surprises readers.",
    "COPY": "COPY brings files from your folder (the build context) into the image.",
    "ENTRYPOINT": 'ENTRYPOINT ["python", "app.py"] fixes the program; CMD then gives its default arguments.',
}


@register
@dataclass(kw_only=True, frozen=True)
class HasInstruction(_DockerfileCheck):
    """An instruction is present (optionally with arguments matching a pattern)."""

    kind = "dockerfile.instruction"
    instruction: str
    matches: str = ""
    stage: str = "final"
    absent: bool = False  # invert: the instruction must NOT be there

    @property
    def display_hint(self) -> str:
        return self.hint or INSTRUCTION_HINTS.get(self.instruction.upper(), "")

    def describe(self) -> str:
        what = self.instruction.upper() + (f" matching /{self.matches}/" if self.matches else "")
        return f"no {what}" if self.absent else f"has {what}"

    def run(self, ctx: CheckContext) -> Verdict:
        name = self.instruction.upper()
        found = [
            i
            for stage in self.stages(ctx, self.stage)
            for i in stage.find(name)
            if not self.matches or re.search(self.matches, i.value)
        ]
        where = "the final stage" if self.stage == "final" else "the Dockerfile"
        wanted = name + (f" matching {self.matches!r}" if self.matches else "")
        if self.absent:
            if found:
                return failed(f"line {found[0].line}: {found[0].text} should not be in {where}")
            return passed(f"no {wanted} in {where}")
        if not found:
            return failed(f"{where} has no {wanted}")
        return passed(f"line {found[-1].line}: {found[-1].text}")


@register
@dataclass(kw_only=True, frozen=True)
class ForbiddenPattern(_DockerfileCheck):
    """No instruction matches a pattern (e.g. secrets, sudo, ADD of a URL)."""

    kind = "dockerfile.forbid"
    pattern: str
    instruction: str = ""  # limit to one instruction, e.g. RUN
    reason: str = ""

    @property
    def display_hint(self) -> str:
        return self.hint or self.reason or "Rewrite or remove the line the message names."

    def describe(self) -> str:
        return f"nothing matches /{self.pattern}/"

    def run(self, ctx: CheckContext) -> Verdict:
        assert ctx.dockerfile is not None
        looked_at = [i for i in ctx.dockerfile.instructions if not self.instruction or i.name == self.instruction.upper()]
        for i in looked_at:
            if re.search(self.pattern, i.text):
                why = f": {self.reason}" if self.reason else ""
                return failed(f"line {i.line}: {i.text}{why}")
        # What it forbids is in the title: a pass names what was read, not the pattern.
        read = plural(len(looked_at), f"{self.instruction.upper()} line" if self.instruction else "instruction")
        return passed(f"read {read}: none has it")


@register
@dataclass(kw_only=True, frozen=True)
class InstructionOrder(_DockerfileCheck):
    """One instruction comes before another, e.g. requirements copied before the source."""

    kind = "dockerfile.order"
    default_hint = (
        "Copy the file that lists your dependencies and install them first; copy the source after, "
        "so an edit to your code does not invalidate the dependency layer."
    )
    first: str  # regex on the instruction text, e.g. "^COPY .*requirements"
    then: str
    stage: str = "final"

    def describe(self) -> str:
        return f"/{self.first}/ comes before /{self.then}/"

    def run(self, ctx: CheckContext) -> Verdict:
        instructions = [i for stage in self.stages(ctx, self.stage) for i in stage.instructions]
        first = next((i for i in instructions if re.search(self.first, i.text)), None)
        then = next((i for i in instructions if re.search(self.then, i.text)), None)
        if first is None:
            return failed(f"no instruction matches {self.first!r}")
        if then is None:
            return failed(f"no instruction matches {self.then!r}")
        if first.line > then.line:
            return failed(f"line {then.line} ({then.text}) comes before line {first.line} ({first.text})")
        return passed(f"line {first.line} comes before line {then.line}")


@register
@dataclass(kw_only=True, frozen=True)
class ExecForm(_DockerfileCheck):
    """CMD/ENTRYPOINT are written as JSON arrays that start the program itself, so the program is
    PID 1 and receives signals; a JSON array that starts a shell with -c is shell form in effect."""

    kind = "dockerfile.exec-form"
    default_hint = (
        'Write the command as a JSON array, one word per item in double quotes: CMD ["program", "arg"]. '
        "The shell form (CMD program arg) runs it under /bin/sh -c, which does not pass signals such as "
        "docker stop's SIGTERM on to your program; so does a JSON array that starts the shell itself "
        '(CMD ["sh", "-c", "..."]) unless its command line ends with exec PROGRAM.'
    )
    instructions: tuple[str, ...] = ("CMD", "ENTRYPOINT")
    allow_shell: bool = False  # true: a JSON array that starts a shell with -c passes (an exercise about the shell itself)

    def describe(self) -> str:
        return " and ".join(self.instructions) + " in exec form"

    def run(self, ctx: CheckContext) -> Verdict:
        assert ctx.dockerfile is not None and ctx.dockerfile.final is not None
        present = []
        for name in self.instructions:
            found = ctx.dockerfile.final.find(name.upper())
            if not found:
                continue
            last = found[-1]  # only the last one takes effect
            present.append(last)
            if not last.is_exec_form:
                return failed(
                    f"line {last.line}: {last.text} is in shell form: Docker runs it as /bin/sh -c \"{last.value}\", "
                    "so the shell is PID 1, not your program"
                )
        if not present:
            return failed(f"the final stage has no {' or '.join(self.instructions)}")
        shell = None if self.allow_shell else _shell_as_pid_one(ctx.dockerfile)
        if shell:
            return failed(shell)
        return passed(", ".join(f"line {i.line}: {i.text}" for i in present))


# Words that end or stand for a compound command, never a program to exec.
_SHELL_WORDS = frozenset({"exec", "done", "fi", "esac", "wait", "then", "else", "do"})


def _shell_as_pid_one(dockerfile: Dockerfile) -> str:
    """What is wrong when the command a container starts with is a shell given a command line
    (["sh", "-c", "..."], ENTRYPOINT ["sh", "-c"] with the line in CMD, env sh -c, bash -lc): '' if
    it is not. A command line that ends with `exec PROGRAM` passes: the shell is replaced by the
    program, which is then PID 1 and receives signals itself, the same pattern as an entrypoint
    script that ends with exec, which lesson 11 teaches."""
    entrypoint, cmd = dockerfile.start_command()
    first = entrypoint or cmd
    if first is None or not first.is_exec_form:
        return ""  # shell form: judged as such where it is one of the instructions checked
    argv = json.loads(first.value)
    if entrypoint is not None and cmd is not None:
        argv += json.loads(cmd.value) if cmd.is_exec_form else ["/bin/sh", "-c", cmd.value]
    runner = shell_runner(argv)
    if runner is None or (runner.script is not None and ends_with_exec(runner.script)):
        return ""
    program = last_command(runner.script or "")
    words = program.split()
    named = bool(words) and words[0] not in _SHELL_WORDS and bool(re.match(r"^[\w./-]+$", words[0])) and "|" not in program
    plain = named and all(re.match(r"^[\w./=:,+-]+$", w) for w in words)
    itself = f"{first.name} {json.dumps(words)}" if plain else "its words as the array"
    fix = (
        f'end its command line with exec, "...; exec {program}", so {words[0]} replaces the shell'
        if named
        else "end its command line with exec PROGRAM, so your program replaces the shell"
    )
    if first is entrypoint and cmd is not None:
        what = f"line {first.line}: {first.text} with line {cmd.line}: {cmd.text} are JSON arrays, but together they start"
    else:
        what = f"line {first.line}: {first.text} is a JSON array, but it starts"
    return (
        f"{what} {runner.shell} {runner.flag}: that is shell form in effect. The shell can stay PID 1 with your "
        "program as its child (Debian's sh, the one in python:3.11-slim, does), and docker stop's SIGTERM then "
        f"stops at the shell. Start the program itself ({itself}), or, if you need the shell, {fix}"
    )


@register
@dataclass(kw_only=True, frozen=True)
class StageCount(_DockerfileCheck):
    """A multi-stage build: build tools stay behind in an earlier stage."""

    kind = "dockerfile.stages"
    default_hint = "Add a builder stage (FROM ... AS build) and COPY --from=build only what you need."
    min: int = 2

    def describe(self) -> str:
        return f"at least {self.min} stages"

    def run(self, ctx: CheckContext) -> Verdict:
        assert ctx.dockerfile is not None
        count = len(ctx.dockerfile.stages)
        if count < self.min:
            return failed(f"the Dockerfile has {count} stage{'s' * (count != 1)}; this exercise needs {self.min}")
        return passed(f"{count} stages")
