"""One exception hierarchy; each error carries the exit code the CLI returns for it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # the build or a check failed
    USAGE = 2  # bad arguments or broken content
    NO_ENGINE = 3  # no usable Docker engine
    BUG = 70  # a bug in docker-tutor itself (EX_SOFTWARE)
    INTERRUPTED = 130


class TutorError(Exception):
    """An error with a message written for the learner."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n{self.hint}" if self.hint else self.message


class UsageError(TutorError):
    exit_code = ExitCode.USAGE


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with content: where (file and field) and what."""

    where: str  # "exercises/04-x/exercise.toml: checks[2].matches"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class ContentError(TutorError):
    """Lesson or exercise content that does not load; each problem names file and field."""

    exit_code = ExitCode.USAGE

    def __init__(self, message: str, *, hint: str = "", problems: Sequence[Problem] = ()) -> None:
        super().__init__(message, hint=hint)
        # Kept apart, so a tool listing them never has to split the message again.
        self.problems = tuple(problems) or (Problem("", message),)


class EngineUnavailable(TutorError):
    """No Docker engine can be used: not running, no permission, or too old."""

    exit_code = ExitCode.NO_ENGINE
