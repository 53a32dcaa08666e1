"""The curriculum as plain data: lessons, quizzes, exercises and their declared checks."""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class QuizOption:
    text: str
    correct: bool
    explanation: str


@dataclass(frozen=True, slots=True)
class QuizQuestion:
    id: str
    question: str
    options: tuple[QuizOption, ...]

    def options_for(self, learner: str) -> tuple[QuizOption, ...]:
        """The options in an order of this learner's own: the same on every start, another for
        another learner, so neither the file's order nor a neighbour's screen gives the answer."""
        seed = hashlib.sha256(f"{learner}/{self.id}/{self.question}".encode()).digest()
        order = list(self.options)
        random.Random(seed).shuffle(order)
        return tuple(order)


@dataclass(frozen=True, slots=True)
class Lesson:
    id: str  # stable slug with a numeric prefix for order, e.g. "04-dockerfile-recipe"
    title: str
    path: Path
    body: str  # Markdown without its front matter
    quiz: tuple[QuizQuestion, ...] = ()


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """One declared check as written in exercise.toml; the engine compiles it."""

    kind: str
    id: str
    params: dict[str, Any]
    where: str  # "exercises/x/exercise.toml: checks[2]" for messages
    points: int = 1  # what passing it is worth in a class's score
    hidden: bool = False  # an assessment check: run by `grade` only, removed by `pack release`
    rule: str = ""  # id of the house rule that added it; "" for the exercise's own checks


@dataclass(frozen=True, slots=True)
class Mutant:
    """A rule's practice broken once, as a learner would break it: `verify` proves the rule rejects it."""

    file: str  # the solution file it changes
    replace: tuple[tuple[str, str], ...] = ()  # (regular expression, replacement), applied in turn
    delete: bool = False  # the mistake is a missing file

    def apply(self, text: str | None) -> str | None:
        """The file's broken text; None: the file is deleted. Unchanged text means it does not apply."""
        if self.delete or text is None:
            return None
        for pattern, replacement in self.replace:
            text = re.sub(pattern, replacement, text, flags=re.MULTILINE)
        return text


@dataclass(frozen=True, slots=True)
class Rule:
    """A house rule: a practice a lesson taught, enforced by every later exercise where it applies."""

    id: str
    practice: str  # in the learner's words, e.g. "CMD in exec form"
    lesson: str  # the lesson that teaches it; exercises of later lessons enforce it
    why: str  # why it matters, in one or two sentences: the first thing a failing learner reads
    check: CheckSpec
    solution_matches: str = ""  # applies when the solution's final stage has a line matching this
    has_check: tuple[str, ...] = ()  # applies when the exercise has a check of one of these kinds
    mutant: Mutant | None = None
    where: str = ""


@dataclass(frozen=True, slots=True)
class BuildSettings:
    timeout: float = 300.0  # wall-clock seconds for the whole build
    network: bool = False  # RUN steps reach the network only when an exercise says so
    memory_mb: int = 1024
    # The exercise teaches what only BuildKit builds (RUN --mount, ...). On a shared engine (serve,
    # grade) only such exercises build it, with BuildKit, whose steps take none of the classic
    # builder's limits: elsewhere it is refused, so adding a flag cannot shed the limits.
    buildkit: bool = False


@dataclass(frozen=True, slots=True)
class Exercise:
    id: str
    title: str
    lesson: str
    path: Path  # folder holding exercise.toml, starter/ and solution/
    task: str  # Markdown
    hints: tuple[str, ...]
    checks: tuple[CheckSpec, ...]
    build: BuildSettings = field(default_factory=BuildSettings)
    # Files the learner edits (shown in the editor first); defaults to the Dockerfile.
    files: tuple[str, ...] = ("Dockerfile",)
    rules: tuple[Rule, ...] = ()  # the house rules it enforces (their checks are in `checks`)
    skipped_rules: tuple[tuple[str, str], ...] = ()  # (rule id, why it does not apply here)
    # In a learner's copy (no solution/): the rules whose `solution_matches` its solution met.
    rules_from_solution: tuple[str, ...] | None = None

    @property
    def starter_dir(self) -> Path:
        return self.path / "starter"

    @property
    def solution_dir(self) -> Path:
        return self.path / "solution"

    @property
    def uses_compose(self) -> bool:
        """Graded as a Compose project (its checks start one), on Docker's engine only."""
        return any(spec.kind.startswith("compose") for spec in self.checks)


@dataclass(frozen=True, slots=True)
class Curriculum:
    lessons: tuple[Lesson, ...]
    exercises: tuple[Exercise, ...]
    rules: tuple[Rule, ...] = ()

    def exercise(self, exercise_id: str) -> Exercise | None:
        return next((e for e in self.exercises if e.id == exercise_id), None)

    def lesson(self, lesson_id: str) -> Lesson | None:
        return next((lesson for lesson in self.lessons if lesson.id == lesson_id), None)

    def exercises_of(self, lesson_id: str) -> tuple[Exercise, ...]:
        return tuple(e for e in self.exercises if e.lesson == lesson_id)
