"""Honest progress: active time measured the same way everywhere, hints, lessons and quiz answers
exported; report reads grade's JSON too, keeps two learners of one name apart, and shows real medians."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.classroom.helpers import run
from tutor import progress as progress_module
from tutor.classroom.reports import export
from tutor.engine.report import BuildResult, Report
from tutor.progress import IDLE_CAP, Progress

T0 = 1_760_000_000.0


def _at(monkeypatch: pytest.MonkeyPatch, moment: float) -> None:
    monkeypatch.setattr(progress_module.time, "time", lambda: moment)


def _report(passed: bool) -> Report:
    return Report("04-first-dockerfile", passed, BuildResult(ok=True, seconds=1.0, log_tail=[]), [], 1.0)


def test_active_time_counts_the_gaps_between_actions_and_not_the_breaks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    progress = Progress(tmp_path / "progress.json")
    _at(monkeypatch, T0)
    progress.record_opened("04-first-dockerfile")
    _at(monkeypatch, T0 + 60)
    progress.record_hints("04-first-dockerfile", 2)
    _at(monkeypatch, T0 + 200)
    progress.record_report(_report(False))
    _at(monkeypatch, T0 + 200 + 3 * 3600)  # lunch: counted as IDLE_CAP at most
    progress.record_report(_report(True))
    progress.record_lesson("04-dockerfile-recipe")
    progress.record_quiz("04-dockerfile-recipe", "q1", False)
    progress.record_quiz("04-dockerfile-recipe", "q1", True)
    data = export(progress.load(), "alice")
    (entry,) = data["exercises"]
    assert entry["seconds_spent"] == 60 + 140 + IDLE_CAP and data["active_seconds"] == entry["seconds_spent"]
    assert (entry["attempts"], entry["hints_used"], entry["status"]) == (2, 2, "passed")
    assert entry["opened_at"] == "2025-10-09T08:53:20Z"
    assert data["lessons_read"] == [{"lesson": "04-dockerfile-recipe", "read_at": "2025-10-09T11:56:40Z"}]
    assert data["quizzes"] == [{"lesson": "04-dockerfile-recipe", "question": "q1", "attempts": 2, "correct": True}]


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def _progress_export(learner: str, exercises: list[dict]) -> dict:
    return {"format": "docker-tutor-progress", "version": 2, "learner": learner, "exercises": exercises}


def _row(exercise: str, status: str, attempts: int, seconds: float, hints: int = 0) -> dict:
    return {"exercise": exercise, "status": status, "attempts": attempts, "seconds_spent": seconds, "hints_used": hints, "failing_checks": []}


def test_report_reads_grade_json_keeps_namesakes_apart_and_has_real_medians(tmp_path: Path) -> None:
    alice = _write(tmp_path / "alice.json", _progress_export("alice", [_row("04-first-dockerfile", "passed", 2, 600, 1)]))
    bob = _write(tmp_path / "bob.json", _progress_export("bob", [_row("04-first-dockerfile", "failed", 4, 1200, 3)]))
    other_alice = _write(tmp_path / "alice-b.json", _progress_export("alice", [_row("10-batch-job", "passed", 1, 60)]))
    graded = _write(
        tmp_path / "grade.json",
        {
            "format": "docker-tutor-grade",
            "exercise": "12-non-root",
            "submissions": [
                {"learner": "cy", "passed": True, "score": 5, "max_score": 5, "failing_checks": []},
                {"learner": "dee", "passed": False, "score": 2, "max_score": 5, "failing_checks": ["runs-as-user"]},
            ],
        },
    )
    result = run("report", str(alice), str(bob), str(other_alice), str(graded))
    assert result.returncode == 0, result.stderr
    assert "two learners named 'alice'" in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "5 learners: alice, alice (alice-b.json), bob, cy, dee"
    first = next(line for line in lines if line.startswith("04-first-dockerfile"))
    assert "15m 00s" in first and "  2  " in first  # median of 10 and 20 minutes; median hints 2
    graded_row = next(line for line in lines if line.startswith("12-non-root"))
    assert "1/2" in graded_row and graded_row.split()[3] == "-" and graded_row.endswith("runs-as-user (1)")
