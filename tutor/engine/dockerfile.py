"""A parsed Dockerfile: stages and instructions, so checks judge facts rather than grep text."""

from __future__ import annotations

import contextlib
import difflib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from dockerfile_parse import DockerfileParser

from tutor.engine.learner_files import DOCKERFILE_LIMIT, LearnerFileRefused, read_learner_file
from tutor.engine.shell_words import Unresolvable, expand
from tutor.engine.shell_words import words as shell_words

KNOWN_INSTRUCTIONS = {
    "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
    "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
}


@dataclass(frozen=True, slots=True)
class Instruction:
    name: str  # upper case, e.g. "COPY"
    value: str  # the arguments, continuation lines joined
    line: int  # 1-based
    stage: int

    @property
    def text(self) -> str:
        return f"{self.name} {self.value}"

    @property
    def is_exec_form(self) -> bool:
        """True for the JSON-array form of CMD/ENTRYPOINT/RUN (no shell between Docker and the process)."""
        try:
            parsed = json.loads(self.value)
        except ValueError:
            return False
        return isinstance(parsed, list) and all(isinstance(item, str) for item in parsed)


@dataclass(frozen=True, slots=True)
class Stage:
    index: int
    base: str  # image reference after ARG substitution (or a previous stage's name)
    alias: str
    instructions: tuple[Instruction, ...]

    def find(self, name: str) -> list[Instruction]:
        return [i for i in self.instructions if i.name == name]


@dataclass(frozen=True, slots=True)
class Dockerfile:
    instructions: tuple[Instruction, ...]
    stages: tuple[Stage, ...]
    problems: tuple[str, ...] = field(default=())  # mistakes found before any build
    escape: str = "\\"  # the escape character (a `# escape=` directive can make it a backtick)
    syntax: str = ""  # a `# syntax=` directive: the frontend image BuildKit would fetch and run

    @property
    def final(self) -> Stage | None:
        return self.stages[-1] if self.stages else None

    def start_command(self) -> tuple[Instruction | None, Instruction | None]:
        """The ENTRYPOINT and CMD a container of the final stage starts with, as far as this file
        says: inherited through the earlier stages it is built FROM, a CMD from before an
        ENTRYPOINT's stage reset by that ENTRYPOINT, as Docker does."""
        entrypoint = cmd = None
        reset = False
        stage = self.final
        while stage is not None:
            if cmd is None and not reset and stage.find("CMD"):
                cmd = stage.find("CMD")[-1]
            if entrypoint is None and stage.find("ENTRYPOINT"):
                entrypoint = stage.find("ENTRYPOINT")[-1]
                reset = cmd is None
            index = stage.index
            stage = next((s for s in self.stages[:index] if s.alias and s.alias == stage.base), None)
        return entrypoint, cmd

    @property
    def base_images(self) -> list[str]:
        """What the stages start FROM, less earlier stages of this file (FROM build)."""
        aliases = {stage.alias for stage in self.stages if stage.alias}
        return [stage.base for stage in self.stages if stage.base not in aliases]


class DockerfileUnreadable(ValueError):
    """The file is missing, empty, binary or not text."""


def read_dockerfile(path: Path, folder: Path | None = None) -> Dockerfile:
    """folder: the learner's folder the path is in; no link on the way from it is followed."""
    root, relative = (folder, path.relative_to(folder).as_posix()) if folder else (path.parent, path.name)
    try:
        data = read_learner_file(root, relative, DOCKERFILE_LIMIT)
    except LearnerFileRefused as exc:
        raise DockerfileUnreadable(f"there is no {path.name} in {path.parent}" if exc.missing else str(exc)) from exc
    if b"\x00" in data:
        raise DockerfileUnreadable(f"{path.name} is a binary file, not a Dockerfile")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DockerfileUnreadable(f"{path.name} is not UTF-8 text (byte {exc.start})") from exc
    return parse_dockerfile(text.removeprefix("\ufeff"))  # docker build accepts a byte-order mark


# Deeper nesting than this ([[[...]]] in an exec form, ${a:-${a:-...}}) is refused before any parser
# (JSON's, the shell-word reader's) recurses through it.
MAX_NESTING = 100


def _nested_too_deep(text: str) -> int:
    """The line where brackets or braces first nest deeper than MAX_NESTING; 0 if none does."""
    depth, line = 0, 1
    for char in text:
        if char in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return line
        elif char in "]}":
            depth = max(0, depth - 1)
        elif char == "\n":
            line += 1
    return 0


def parse_dockerfile(text: str) -> Dockerfile:
    if not text.strip() or all(
        not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()
    ):
        raise DockerfileUnreadable("the Dockerfile is empty: start it with a FROM line")
    deep = _nested_too_deep(text)
    if deep:
        raise DockerfileUnreadable(
            f"line {deep} nests brackets or ${{...}} more than {MAX_NESTING} deep: no Dockerfile needs that"
        )
    escape = _escape_directive(text)
    folded = _fold_heredocs(text, escape)
    parser = DockerfileParser(fileobj=io.BytesIO(folded.encode("utf-8")), env_replace=False)
    instructions: list[Instruction] = []
    problems: list[str] = []
    stage = -1
    for item in parser.structure:
        name = item["instruction"].upper()
        if name == "COMMENT":
            continue
        line = item["startline"] + 1
        if name not in KNOWN_INSTRUCTIONS:
            guess = difflib.get_close_matches(name, KNOWN_INSTRUCTIONS, n=1)
            suggestion = f" (did you mean {guess[0]}?)" if guess else ""
            problems.append(f"line {line}: unknown instruction {item['instruction']}{suggestion}")
        if name == "FROM":
            stage += 1
        elif stage < 0 and name != "ARG":
            problems.append(f"line {line}: {name} before the first FROM; a Dockerfile starts with FROM")
        instructions.append(Instruction(name, item["value"].strip(), line, max(stage, 0)))
    if stage < 0:
        problems.append("no FROM line: every Dockerfile starts from a base image (FROM python:3.11-slim)")
    meta: dict[str, str] = {}
    for instruction in instructions:
        if instruction.name == "FROM":
            break
        if instruction.name == "ARG":
            for word in instruction.value.split():
                key, has_default, default = word.partition("=")
                with contextlib.suppress(Unresolvable):
                    meta[key] = "".join(shell_words(default, meta, escape)) if has_default else meta.get(key, "")
    stages = []
    for index in range(stage + 1):
        own = tuple(
            i for i in instructions if i.stage == index and not (i.name == "ARG" and index == 0 and _before_first_from(i, instructions))
        )
        first = next(i for i in own if i.name == "FROM")
        words = first.value.split()
        base = next((w for w in words if not w.startswith("--")), "")
        try:
            base = expand(base, meta, escape)  # FROM sees the ARGs declared before the first FROM
        except Unresolvable as exc:
            problems.append(f"line {first.line}: FROM uses {exc}")
        alias = words[-1] if len(words) >= 3 and words[-2].upper() == "AS" else ""
        stages.append(Stage(index, base, alias, own))
    return Dockerfile(tuple(instructions), tuple(stages), tuple(problems), escape, _directive(text, "syntax"))


_HEREDOC_INSTRUCTION = re.compile(r"^\s*(RUN|COPY|ADD)\s", re.IGNORECASE)
_HEREDOC_MARK = re.compile(r"(?:^|\s)<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2(?=\s|$)")


def _fold_heredocs(text: str, escape: str) -> str:
    """BuildKit's here-documents (RUN <<EOF ... EOF) as continuation lines of their instruction,
    so the parser reads one instruction with its body, on the lines where the learner wrote it."""
    lines = text.split("\n")
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        marks = _HEREDOC_MARK.findall(line) if _HEREDOC_INSTRUCTION.match(line) else []
        end = _heredoc_end(lines, index, marks)
        if not marks or end is None:  # no terminator: not a here-document, the builder will say so
            out.append(line)
            continue
        body, index = lines[index:end], end
        out += [f"{line} {escape}", *(f"{part} {escape}" for part in body[:-1]), *body[-1:]]
    return "\n".join(out)


def _heredoc_end(lines: list[str], start: int, marks: list[tuple[str, str, str]]) -> int | None:
    """The index after the last here-document's terminator line, or None when one is missing."""
    index = start
    for dash, _quote, word in marks:
        while index < len(lines) and (lines[index].lstrip("\t") if dash else lines[index]) != word:
            index += 1
        if index == len(lines):
            return None
        index += 1
    return index


def _escape_directive(text: str) -> str:
    """The `# escape=` parser directive, which may only come before anything else."""
    escape = _directive(text, "escape")
    return escape if escape in ("\\", "`") else "\\"


def _directive(text: str, name: str) -> str:
    """A parser directive's value (`# name=value`, only before anything else), or ''."""
    for line in text.splitlines():
        directive = re.match(r"^\s*#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$", line)
        if not directive:
            break
        if directive.group(1).lower() == name:
            return directive.group(2)
    return ""


def _before_first_from(instruction: Instruction, instructions: list[Instruction]) -> bool:
    first_from = next((i.line for i in instructions if i.name == "FROM"), 0)
    return instruction.line < first_from


def split_reference(reference: str) -> tuple[str, str, str]:
    """'python:3.11-slim@sha256:..' -> ('python', '3.11-slim', 'sha256:..')."""
    name, _, digest = reference.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = ""
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    return name, tag, digest
