"""The result of grading an exercise: plain data that every front end displays."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class CheckResult:
    id: str
    kind: str
    title: str
    passed: bool
    message: str
    hint: str = ""
    seconds: float = 0.0
    skipped: bool = False  # not run because the build failed or an earlier step made it moot
    lesson: str = ""  # the lesson to read again when it fails (house rules name the one that taught them)


@dataclass(frozen=True, slots=True)
class LayerInfo:
    instruction: str
    size: int
    cached: bool


@dataclass(frozen=True, slots=True)
class BuildResult:
    ok: bool
    seconds: float
    log_tail: list[str]
    error: str = ""
    hint: str = ""
    image_id: str = ""
    steps_total: int = 0
    steps_cached: int = 0
    layers: list[LayerInfo] = field(default_factory=list)
    image_size: int = 0
    skipped: bool = False  # every check is static, so nothing was built
    builder: str = ""  # "buildkit" | "classic": which builder built (empty: nothing was built)
    builder_why: str = ""
    reused: bool = False  # nothing changed since the last check: its image was used again


@dataclass(frozen=True, slots=True)
class Report:
    exercise_id: str
    passed: bool
    build: BuildResult
    checks: list[CheckResult]
    seconds: float
    directory: str = ""

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["exercise"] = data.pop("exercise_id")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        build = dict(data["build"])
        build["layers"] = [LayerInfo(**layer) for layer in build.get("layers", [])]
        return cls(
            exercise_id=data["exercise"],
            passed=data["passed"],
            build=BuildResult(**build),
            checks=[CheckResult(**check) for check in data["checks"]],
            seconds=data["seconds"],
            directory=data.get("directory", ""),
        )
