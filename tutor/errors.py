"""One exception hierarchy; each error carries the exit code the CLI returns for it."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # the build or a check failed
    USAGE = 2  # bad arguments or broken content
    NO_ENGINE = 3  # no usable Docker engine
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


class ContentError(TutorError):
    """Lesson or exercise content that does not load; the message names file and field."""

    exit_code = ExitCode.USAGE


class EngineUnavailable(TutorError):
    """No Docker engine can be used: not running, no permission, or too old."""

    exit_code = ExitCode.NO_ENGINE
