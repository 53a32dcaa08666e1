"""The shipped curriculum: it loads, every check compiles, every solution passes, every starter fails,
and every typical wrong attempt listed in an exercise's mistakes.toml fails the check that names it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutor import locations
from tutor.content.loader import load_curriculum
from tutor.content.variants import Variant, variants
from tutor.engine.checks import compile_check
from tutor.engine.grader import Grading, grade

CURRICULUM = load_curriculum([locations.content_root()])
EXERCISES = {e.id: e for e in CURRICULUM.exercises}


VARIANTS = [v for exercise in CURRICULUM.exercises for v in variants(exercise)]
MISTAKES = [v for v in VARIANTS if v.kind == "mistake"]


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
@pytest.mark.parametrize("variant", VARIANTS, ids=[v.label for v in VARIANTS])
def test_each_variant_is_graded_as_an_expert_would(variant: Variant, host, tmp_path: Path, monkeypatch) -> None:
    """A typical mistake fails the checks it names, with a message that says so; a correct
    alternative passes; a house rule broken in the reference solution is rejected by that rule."""
    if variant.builder:  # a mistake under that builder only
        monkeypatch.setenv("DOCKER_TUTOR_BUILDER", variant.builder)
    exercise = EXERCISES[variant.exercise]
    folder = variant.materialize(exercise.solution_dir, tmp_path / exercise.id)
    report = grade(exercise, folder, lambda: host, grading=Grading(only=variant.only))
    assert variant.judge(report) == ""


def test_house_rules_have_mutants_to_prove_them() -> None:
    """Each taught practice, broken once in every exercise it applies to where it can be broken."""
    mutants = [v for v in VARIANTS if v.kind == "mutant"]
    assert len(mutants) >= 30
    assert {"exec-form", "no-secrets", "pinned-base", "non-root-server", "listen-all"} <= {m.name for m in mutants}


def test_every_exercise_lists_at_least_three_typical_mistakes() -> None:
    counts = {e: sum(1 for m in MISTAKES if m.exercise == e) for e in EXERCISES}
    assert all(count >= 3 for count in counts.values()), counts
