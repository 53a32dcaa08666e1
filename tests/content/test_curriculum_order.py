"""Curriculum part two sits inside the course, in order, and no learner loses progress by it.

Progress is keyed by exercise and lesson id, so ids of the first curriculum are never renamed:
new lessons take ids that sort where they belong (14b-compose between 14-volumes and 15-multi-stage)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tutor.content.model import Curriculum

# The first curriculum's ids, as learners' progress files hold them.
FIRST_LESSONS = [
    "01-welcome", "02-works-on-my-machine", "03-containers-vs-vms", "04-dockerfile-recipe",
    "05-images-and-layers", "06-build-cache", "07-dockerignore", "08-dependencies-and-pinning",
    "09-configuration", "10-containers-at-runtime", "11-entrypoint-and-signals", "12-security-basics",
    "13-serving-a-model", "14-volumes", "15-multi-stage", "16-gpus-and-cuda", "17-capstone",
    "18-sharing-images",
]
FIRST_EXERCISES = [
    "01-hello-container", "02-reproduce-the-environment", "03-same-kernel", "04-first-dockerfile",
    "05-slim-layers", "06-cache-friendly-order", "07-ignore-the-data", "08-pin-dependencies",
    "09-config-not-secrets", "10-batch-job", "10-run-it-right", "11-graceful-stop", "12-non-root",
    "13-serve-a-model", "14-artifacts-volume", "15-build-stage", "16-cuda-runtime", "17-capstone",
    "18-reproducible-image",
]
# Each new lesson, and the lesson it must directly follow.
PART_TWO = {
    "06b-buildkit": "06-build-cache",
    "08b-lock-files": "08-dependencies-and-pinning",
    "14b-compose": "14-volumes",
    "14c-dev-loop": "14b-compose",
    "16b-big-images": "16-gpus-and-cuda",
    "16c-apple-silicon": "16b-big-images",
}


def test_no_id_of_the_first_curriculum_was_renamed(curriculum: Curriculum) -> None:
    assert set(FIRST_LESSONS) <= {lesson.id for lesson in curriculum.lessons}
    assert set(FIRST_EXERCISES) <= {exercise.id for exercise in curriculum.exercises}


def test_new_lessons_sit_where_they_belong_each_with_a_quiz_and_an_exercise(curriculum: Curriculum) -> None:
    order = [lesson.id for lesson in curriculum.lessons]
    assert order == sorted(order)
    for lesson_id, after in PART_TWO.items():
        assert order.index(lesson_id) == order.index(after) + 1, (lesson_id, order)
        lesson = curriculum.lesson(lesson_id)
        assert lesson is not None and lesson.quiz
        assert curriculum.exercises_of(lesson_id)
    listed = [exercise.id for exercise in curriculum.exercises]
    assert listed == [e.id for lesson in order for e in curriculum.exercises_of(lesson)]
    assert len(listed) >= 24


def test_an_old_progress_file_keeps_its_passed_exercises(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    old = {
        "version": 1,
        "exercises": {e: {"status": "passed", "attempts": 1, "failing_checks": []} for e in FIRST_EXERCISES},
        "lessons": {lesson: {"read": True} for lesson in FIRST_LESSONS},
        "quizzes": {},
        "last": "18-reproducible-image",
    }
    (data / "progress.json").write_text(json.dumps(old))
    result = subprocess.run(
        [sys.executable, "-m", "tutor", "list", "--format", "json"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "DOCKER_TUTOR_DATA": str(data)},
    )
    rows = {row["id"]: row["status"] for row in json.loads(result.stdout)}
    assert all(rows[e] == "passed" for e in FIRST_EXERCISES), rows
    assert {status for e, status in rows.items() if e not in FIRST_EXERCISES} == {"not started"}
