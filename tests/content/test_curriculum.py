"""The shipped curriculum: it loads, every check compiles, every solution passes, every starter fails,
and every typical wrong attempt listed in an exercise's mistakes.toml fails the check that names it.
Solutions and starters are graded on every engine set-up the tutor supports (what `verify --quick`
does on each): BuildKit, the classic builder, and Podman's Docker-compatible API. A starter that a
check judged from its files alone rejects fails on every set-up (those checks run before any engine
is reached): on the classic builder and Podman only the starters those checks pass are built.

The gradings run side by side in worker processes (tests/content/grading_pool.py), started with the
run for the tests that are selected; each test waits for its own report and judges it."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.content import grading_pool
from tests.content.grading_pool import Job
from tests.engine.podman_support import PODMAN_URL, needs_podman, podman_answers
from tests.engine_cleanup import leftovers, owners_under, remove
from tutor import locations
from tutor.content.loader import load_curriculum
from tutor.content.variants import Variant, variants
from tutor.engine.checks import compile_check
from tutor.engine.report import Report

CURRICULUM = load_curriculum([locations.content_root()])
EXERCISES = {e.id: e for e in CURRICULUM.exercises}


# Set-ups besides the default (BuildKit on Docker): (builder, engine URL), and the exercises each
# can grade: an exercise that teaches BuildKit-only syntax has none on the classic builder, and
# Compose is graded on Docker's engine only (README: Builders, Podman).
SETUPS = {"classic": ("classic", ""), "podman": ("", PODMAN_URL)}
ON_SETUP = [
    pytest.param(exercise.id, "classic", id=f"{exercise.id}-classic") for exercise in CURRICULUM.exercises if not exercise.build.buildkit
] + [
    pytest.param(exercise.id, "podman", id=f"{exercise.id}-podman", marks=needs_podman)
    for exercise in CURRICULUM.exercises
    if not exercise.uses_compose
]
VARIANTS = [v for exercise in CURRICULUM.exercises for v in variants(exercise)]
MISTAKES = [v for v in VARIANTS if v.kind == "mistake"]
GRADING_TIMEOUT = 600


def _jobs(params: dict[str, Any]) -> dict[str, Job]:
    if "variant" in params:
        variant: Variant = params["variant"]
        return {variant.label: Job(variant.exercise, "variant", variant, variant.builder)}
    exercise_id = params["exercise_id"]
    if "setup" in params:
        builder, engine = SETUPS[params["setup"]]
        if engine == PODMAN_URL and not podman_answers():
            return {}  # its tests are skipped
        return {f"{exercise_id}:{params['setup']}:{folder}": Job(exercise_id, folder, None, builder, engine) for folder in ("solution", "starter")}
    return {f"{exercise_id}:{folder}": Job(exercise_id, folder) for folder in ("solution", "starter")}


@dataclass(slots=True)
class Gradings:
    """The gradings of this module's selected tests, in worker processes, and where they keep data."""

    data: Path
    pool: ProcessPoolExecutor
    jobs: dict[str, Job]
    futures: dict[str, Future]


def start_gradings(items: list[pytest.Item], data: Path) -> Gradings:
    """Start every grading these tests need, in their order. The suite calls this when the run
    starts (tests/conftest.py): the gradings mostly wait on the engine, which the tests before this
    module keep busy meanwhile."""
    jobs: dict[str, Job] = {}
    for item in items:
        jobs.update(_jobs(item.callspec.params))  # type: ignore[attr-defined]
    pool = grading_pool.start(data)
    return Gradings(data, pool, jobs, {key: grading_pool.submit(pool, job) for key, job in jobs.items()})


@pytest.fixture(scope="module")
def graded(curriculum_gradings: Gradings) -> Iterator[dict[str, Future]]:
    """Every grading the selected tests of this module need (started with the run)."""
    try:
        yield curriculum_gradings.futures
    finally:
        curriculum_gradings.pool.shutdown(wait=True, cancel_futures=True)
    jobs, data = curriculum_gradings.jobs, curriculum_gradings.data
    if any(job.engine == PODMAN_URL for job in jobs.values()):  # the suite's cleanup sees Docker's engine only
        import docker

        api = docker.APIClient(base_url=PODMAN_URL, timeout=60)
        found = leftovers(api, owners_under(data))
        # Each grading removed its image; a build step's image that two gradings shared (a solution
        # and its starter) and removed at the same time can stay, untagged, till `clean`.
        remove(api, found)
        tagged = [image for image in found["images"] if not image.startswith("sha256:")]
        assert not (found["containers"] or found["networks"] or found["volumes"] or tagged), f"gradings left on Podman: {found}"
        assert not any(leftovers(api, owners_under(data)).values())


def _report(graded: dict[str, Future], key: str) -> Report:
    return Report.from_dict(graded[key].result(timeout=GRADING_TIMEOUT))


def test_every_exercise_belongs_to_a_lesson_and_every_check_compiles() -> None:
    assert CURRICULUM.exercises
    for exercise in CURRICULUM.exercises:
        assert CURRICULUM.lesson(exercise.lesson) is not None
        for spec in exercise.checks:
            compile_check(spec)


@pytest.mark.docker
@pytest.mark.parametrize("exercise_id", sorted(EXERCISES))
def test_solution_passes_and_starter_fails(exercise_id: str, host, graded) -> None:
    solution = _report(graded, f"{exercise_id}:solution")
    assert solution.passed, solution.build.error or [(c.id, c.message) for c in solution.checks if not c.passed]
    starter = _report(graded, f"{exercise_id}:starter")
    assert not starter.passed


@pytest.mark.docker
@pytest.mark.parametrize(("exercise_id", "setup"), ON_SETUP)
def test_solution_passes_and_starter_fails_on_every_engine_set_up(exercise_id: str, setup: str, host, graded) -> None:
    solution = _report(graded, f"{exercise_id}:{setup}:solution")
    assert solution.passed, solution.build.error or [(c.id, c.message) for c in solution.checks if not c.passed]
    starter = _report(graded, f"{exercise_id}:{setup}:starter")
    assert not starter.passed


@pytest.mark.docker
@pytest.mark.parametrize("variant", VARIANTS, ids=[v.label for v in VARIANTS])
def test_each_variant_is_graded_as_an_expert_would(variant: Variant, host, graded) -> None:
    """A typical mistake fails the checks it names, with a message that says so; a correct
    alternative passes; a house rule broken in the reference solution is rejected by that rule.
    A mistake that is one under one builder only is graded under that builder."""
    assert variant.judge(_report(graded, variant.label)) == ""


def test_house_rules_have_mutants_to_prove_them() -> None:
    """Each taught practice, broken once in every exercise it applies to where it can be broken."""
    mutants = [v for v in VARIANTS if v.kind == "mutant"]
    assert len(mutants) >= 30
    assert {"exec-form", "no-secrets", "pinned-base", "non-root-server", "listen-all"} <= {m.name for m in mutants}


def test_every_exercise_lists_at_least_three_typical_mistakes() -> None:
    counts = {e: sum(1 for m in MISTAKES if m.exercise == e) for e in EXERCISES}
    assert all(count >= 3 for count in counts.values()), counts
