"""Build throwaway exercises in code, so engine tests state exactly the check they exercise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tutor.content.model import BuildSettings, CheckSpec, Exercise
from tutor.engine.grader import Grading, grade
from tutor.engine.report import CheckResult, Report


def exercise(
    checks: list[dict[str, Any]], *, build: BuildSettings | None = None, exercise_id: str = "99-test", path: Path = Path(".")
) -> Exercise:
    specs = tuple(
        CheckSpec(kind=c["kind"], id=c.get("id", f"c{i}"), params={k: v for k, v in c.items() if k not in ("kind", "id")}, where=f"test[{i}]")
        for i, c in enumerate(checks)
    )
    return Exercise(
        id=exercise_id, title="test", lesson="99-test", path=path, task="", hints=(), checks=specs,
        build=build or BuildSettings(timeout=60),
    )


def context(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    return folder


def grade_one(host: Any, folder: Path, check: dict[str, Any], files: dict[str, str | bytes], **kwargs: Any) -> CheckResult:
    """Grade a single check against a context written from `files`; return its result."""
    report = grade_all(host, folder, [check], files, **kwargs)
    assert report.build.ok, report.build.error
    return report.checks[0]


def grade_all(host: Any, folder: Path, checks: list[dict[str, Any]], files: dict[str, str | bytes], **kwargs: Any) -> Report:
    return grade(exercise(checks, **kwargs), context(folder, files), lambda: host, grading=Grading(keep_image=False))
