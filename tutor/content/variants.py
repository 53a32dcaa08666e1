"""Variants of a reference solution that prove its checks judge behaviour, not spelling.

- mistakes.toml: wrong attempts learners make; each must fail the checks it names, with a message
  that says what is wrong.
- alternatives.toml: other correct ways an expert writes it; each must pass.
- mutants: each house rule the exercise enforces, broken once; each must be rejected by the
  rule's own check, so the learner hears which practice they dropped.
"""

from __future__ import annotations

import re
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutor.content.model import Exercise
from tutor.content.rules import check_id

if TYPE_CHECKING:
    from tutor.engine.report import Report

KINDS = ("mistake", "alternative", "mutant")


@dataclass(frozen=True, slots=True)
class Variant:
    exercise: str
    kind: str  # one of KINDS
    name: str
    files: dict[str, str | None]  # file name -> its new contents; None deletes it
    fails: tuple[str, ...] = ()  # check ids (or "build") that must fail; empty for alternatives
    message: str = ""  # a regular expression their messages must match
    why: str = field(default="", compare=False)
    # A mistake under this builder only ("classic" or "buildkit"), graded only there.
    builder: str = ""

    @property
    def only(self) -> frozenset[str] | None:
        """The checks worth running: a mutant or a mistake only has to fail the checks it names
        (and a mistake whose checks are all read from its files is then judged without a build).
        A mistake that names the build itself is graded with every check: some check must need
        the image for the build to run."""
        if self.kind == "alternative" or "build" in self.fails:
            return None
        return frozenset(self.fails)

    @property
    def label(self) -> str:
        return f"{self.exercise}:{self.kind}:{self.name}"

    def materialize(self, solution: Path, target: Path) -> Path:
        """A copy of the solution with this variant's files in place."""
        shutil.copytree(solution, target, symlinks=True)
        for name, text in self.files.items():
            path = target / name
            if text is None:
                path.unlink(missing_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
        return target

    def judge(self, report: Report) -> str:
        """'' when the variant is graded as it must be; otherwise what went wrong."""
        if self.kind == "alternative":
            if report.passed:
                return ""
            failing = [f"{c.id} ({c.message})" for c in report.checks if not c.passed and not c.skipped]
            return "a correct alternative fails: " + ("; ".join(failing) or f"the build: {report.build.error}")
        if report.passed:
            return "passes every check, but it is wrong"
        failing = {c.id: c.message for c in report.checks if not c.passed and not c.skipped}
        if not report.build.ok:
            failing["build"] = report.build.error
        missing = [check for check in self.fails if check not in failing]
        if missing:
            return f"rejected, but {', '.join(missing)} does not fail (failing: {', '.join(failing) or 'none'})"
        messages = "\n".join(failing[c] for c in self.fails)
        if self.message and not re.search(self.message, messages, re.IGNORECASE):
            return f"the messages do not match {self.message!r}: {messages}"
        return ""


def variants(exercise: Exercise) -> list[Variant]:
    """Every mistake, alternative and rule mutant of an exercise (files assumed valid: lint them first)."""
    found = [*_listed(exercise, "mistakes"), *_listed(exercise, "alternatives")]
    return found + mutants(exercise)


def mutants(exercise: Exercise) -> list[Variant]:
    """Each rule the exercise enforces, broken once in its reference solution (where the break applies)."""
    from tutor.engine.grader import enforced  # lint and tests grade variants: the engine is there anyway

    graded = {spec.id for spec in enforced(exercise)}
    found = []
    for rule in exercise.rules:
        if rule.mutant is None or check_id(rule.id) not in graded:
            continue
        path = exercise.solution_dir / rule.mutant.file
        before = path.read_text(encoding="utf-8") if path.is_file() else None
        after = rule.mutant.apply(before)
        if after == before:
            continue  # the solution does not do what the mutant breaks, e.g. no --no-cache-dir to drop
        found.append(
            Variant(exercise.id, "mutant", rule.id, {rule.mutant.file: after}, (check_id(rule.id),), why=rule.practice)
        )
    return found


def _listed(exercise: Exercise, section: str) -> list[Variant]:
    path = exercise.path / f"{section}.toml"
    if not path.is_file():
        return []
    try:
        entries = tomllib.loads(path.read_text(encoding="utf-8")).get(section, [])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    kind = "mistake" if section == "mistakes" else "alternative"
    return [_variant(exercise.id, kind, entry) for entry in entries if isinstance(entry, dict)]


def _variant(exercise_id: str, kind: str, entry: dict[str, Any]) -> Variant:
    files = {str(k): (v if isinstance(v, str) else None) for k, v in (entry.get("files") or {}).items()}
    for name in entry.get("delete", []) or []:
        files[str(name)] = None
    return Variant(
        exercise_id,
        kind,
        str(entry.get("name", "")),
        files,
        tuple(entry.get("fails", ()) if kind == "mistake" else ()),
        str(entry.get("message", "")) if kind == "mistake" else "",
        why=str(entry.get("why", "")),
        builder=str(entry.get("builder", "")),
    )
