"""The shipped curriculum: it loads, every check compiles, every solution passes, every starter fails,
and every typical wrong attempt listed in an exercise's mistakes.toml fails the check that names it."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import pytest

from tutor import locations
from tutor.content.loader import load_curriculum
from tutor.engine.checks import compile_check
from tutor.engine.grader import grade

CURRICULUM = load_curriculum([locations.content_root()])
EXERCISES = {e.id: e for e in CURRICULUM.exercises}


def _mistakes() -> list[tuple[str, dict]]:
    cases = []
    for exercise in CURRICULUM.exercises:
        path = exercise.path / "mistakes.toml"
        if path.exists():
            for mistake in tomllib.loads(path.read_text())["mistakes"]:
                cases.append((exercise.id, mistake))
    return cases


MISTAKES = _mistakes()


def test_every_exercise_belongs_to_a_lesson_and_every_check_compiles() -> None:
    assert CURRICULUM.exercises
    for exercise in CURRICULUM.exercises:
        assert CURRICULUM.lesson(exercise.lesson) is not None
        for spec in exercise.checks:
            compile_check(spec)


@pytest.mark.docker
@pytest.mark.parametrize("exercise_id", sorted(EXERCISES))
def test_solution_passes_and_starter_fails(exercise_id: str, host) -> None:
    exercise = EXERCISES[exercise_id]
    solution = grade(exercise, exercise.solution_dir, lambda: host)
    assert solution.passed, [(c.id, c.message) for c in solution.checks if not c.passed] or solution.build.error
    starter = grade(exercise, exercise.starter_dir, lambda: host)
    assert not starter.passed


@pytest.mark.docker
@pytest.mark.parametrize(
    "exercise_id,mistake", MISTAKES, ids=[f"{e}:{m['name']}" for e, m in MISTAKES]
)
def test_typical_mistake_fails_the_check_that_names_it(exercise_id: str, mistake: dict, host, tmp_path: Path, monkeypatch) -> None:
    if "builder" in mistake:  # a mistake under that builder only
        monkeypatch.setenv("DOCKER_TUTOR_BUILDER", mistake["builder"])
    exercise = EXERCISES[exercise_id]
    attempt = tmp_path / exercise_id
    shutil.copytree(exercise.solution_dir, attempt)
    for name, content in mistake["files"].items():
        (attempt / name).write_text(content)
    report = grade(exercise, attempt, lambda: host)
    assert not report.passed
    failing = {c.id: c.message for c in report.checks if not c.passed and not c.skipped}
    if not report.build.ok:
        failing["build"] = report.build.error
    for check_id in mistake["fails"]:
        assert check_id in failing, f"{check_id} should fail; failing: {failing}"
    messages = "\n".join(failing[c] for c in mistake["fails"])
    assert re.search(mistake["message"], messages, re.IGNORECASE), messages


def test_every_exercise_lists_at_least_three_typical_mistakes() -> None:
    counts = {e: sum(1 for ex, _ in MISTAKES if ex == e) for e in EXERCISES}
    assert all(count >= 3 for count in counts.values()), counts
