"""Events the grader emits while it works, so a front end can show progress live."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutor.engine.report import CheckResult, Report


@dataclass(frozen=True, slots=True)
class BuildStep:
    """The builder began step `number` of `total` (BuildKit: of those it has announced so far)."""

    number: int
    total: int
    instruction: str
    logged: bool = False  # the log's own lines already show it (BuildKit's `#5 [2/4] RUN ...`)


@dataclass(frozen=True, slots=True)
class StepCached:
    number: int
    logged: bool = False  # the log's own lines already show it (BuildKit's `#5 CACHED`)


@dataclass(frozen=True, slots=True)
class BuildOutput:
    line: str


@dataclass(frozen=True, slots=True)
class BuildFinished:
    ok: bool
    seconds: float
    error: str = ""


@dataclass(frozen=True, slots=True)
class CheckStarted:
    check_id: str
    title: str


@dataclass(frozen=True, slots=True)
class CheckFinished:
    result: CheckResult


@dataclass(frozen=True, slots=True)
class GradeWarning:
    """Something the learner should know that did not change the verdict (a remembered verdict unreadable)."""

    text: str


@dataclass(frozen=True, slots=True)
class GradeFinished:
    report: Report


Event = BuildStep | StepCached | BuildOutput | BuildFinished | CheckStarted | CheckFinished | GradeWarning | GradeFinished
EventSink = Callable[[Event], None]


def ignore(_event: Event) -> None:
    """The default sink: grading without a listener."""
