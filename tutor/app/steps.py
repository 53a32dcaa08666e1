"""The course as one path of steps (lesson, its quiz, its exercises) and where the learner is on it.

Pure logic over the curriculum and the progress data: "next" and "resume" both mean the next
step not yet done, so a learner who passes an exercise is led on, never back to what is finished.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tutor.content.model import Curriculum, Exercise, Lesson


@dataclass(frozen=True, slots=True)
class Step:
    kind: str  # "lesson", "quiz" or "exercise"
    lesson: Lesson
    exercise: Exercise | None = None

    @property
    def title(self) -> str:
        if self.exercise is not None:
            return f"Exercise {self.exercise.id.split('-', 1)[0]}: {self.exercise.title}"
        number = self.lesson.id.split("-", 1)[0]
        return f"Quiz {number}: {self.lesson.title}" if self.kind == "quiz" else f"Lesson {number}: {self.lesson.title}"


def course(curriculum: Curriculum) -> list[Step]:
    steps: list[Step] = []
    for lesson in curriculum.lessons:
        steps.append(Step("lesson", lesson))
        if lesson.quiz:
            steps.append(Step("quiz", lesson))
        steps.extend(Step("exercise", lesson, exercise) for exercise in curriculum.exercises_of(lesson.id))
    return steps


def is_done(step: Step, progress: dict[str, Any]) -> bool:
    if step.exercise is not None:
        return progress.get("exercises", {}).get(step.exercise.id, {}).get("status") == "passed"
    if step.kind == "quiz":
        answers = progress.get("quizzes", {}).get(step.lesson.id, {})
        return all(answers.get(question.id, {}).get("correct") for question in step.lesson.quiz)
    return step.lesson.id in progress.get("lessons", {})


def next_unfinished(steps: list[Step], progress: dict[str, Any], start: int) -> Step | None:
    """The first step not done at or after `start`, going round to the beginning; None when all are done."""
    for offset in range(len(steps)):
        step = steps[(start + offset) % len(steps)]
        if not is_done(step, progress):
            return step
    return None


def position(steps: list[Step], *, lesson_id: str = "", exercise_id: str = "", kind: str = "") -> int:
    """Where a lesson, quiz or exercise is on the path; 0 when it is not found."""
    for index, step in enumerate(steps):
        if exercise_id and step.exercise is not None and step.exercise.id == exercise_id:
            return index
        if not exercise_id and step.lesson.id == lesson_id and step.kind == (kind or "lesson"):
            return index
    return 0


def after(curriculum: Curriculum, progress: dict[str, Any], **where: str) -> Step | None:
    """The next unfinished step after the given one (for "next" once a step is done)."""
    steps = course(curriculum)
    return next_unfinished(steps, progress, position(steps, **where) + 1) if steps else None


def resume(curriculum: Curriculum, progress: dict[str, Any]) -> Step | None:
    """What "resume" opens: the last thing opened if it is not done yet, else the next unfinished step."""
    steps = course(curriculum)
    if not steps:
        return None
    last = progress.get("last") or {}
    if not last:
        return next_unfinished(steps, progress, 0)
    return next_unfinished(
        steps, progress, position(steps, lesson_id=last.get("lesson", ""), exercise_id=last.get("exercise", ""))
    )
