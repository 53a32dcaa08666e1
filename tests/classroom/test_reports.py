"""docker-tutor progress export and docker-tutor report: a class's progress, aggregated."""

from __future__ import annotations

import json
from pathlib import Path

from tests.classroom.helpers import assert_clear_failure, run

T0 = 1_760_000_000.0


def write_progress(data_dir: Path, exercises: dict) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    progress = {"version": 1, "exercises": exercises, "lessons": {}, "quizzes": {}, "last": None}
    (data_dir / "progress.json").write_text(json.dumps(progress))


def entry(status: str, attempts: int, minutes: float, failing: list[str]) -> dict:
    data = {"status": status, "attempts": attempts, "first_attempt": T0, "last_attempt": T0 + 60 * minutes, "failing_checks": failing}
    if status == "passed":
        data["passed_at"] = data["last_attempt"]
    return data


def export_for(tmp_path: Path, learner: str, exercises: dict) -> Path:
    slug = "".join(c if c.isalnum() else "-" for c in learner)
    data = tmp_path / f"data-{slug}"
    write_progress(data, exercises)
    out = tmp_path / f"{slug}.json"
    result = run("progress", "export", "--learner", learner, "--output", str(out), env={"DOCKER_TUTOR_DATA": str(data)})
    assert result.returncode == 0, result.stderr
    return out


def test_export_has_learner_status_attempts_time_and_failing_checks(tmp_path: Path) -> None:
    path = export_for(tmp_path, "alice", {"04-first-dockerfile": entry("failed", 3, 12.5, ["exec-form", "trains"])})
    data = json.loads(path.read_text())
    assert data["learner"] == "alice" and data["format"] == "docker-tutor-progress"
    assert data["exercises"] == [
        {
            "exercise": "04-first-dockerfile",
            "status": "failed",
            "attempts": 3,
            "seconds_spent": 750.0,  # kept before active time was recorded: first to last check
            "hints_used": 0,
            "failing_checks": ["exec-form", "trains"],
            "opened_at": None,
            "passed_at": None,
        }
    ]


def test_export_defaults_to_the_login_name_and_prints_to_stdout(tmp_path: Path) -> None:
    write_progress(tmp_path / "data", {})
    result = run("progress", "export", env={"LOGNAME": "zoe", "DOCKER_TUTOR_DATA": str(tmp_path / "data")})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["learner"] == "zoe" and data["exercises"] == []


def class_exports(tmp_path: Path) -> list[Path]:
    return [
        export_for(tmp_path, "alice", {"04-first-dockerfile": entry("passed", 2, 5, []), "10-batch-job": entry("failed", 4, 20, ["exit-code"])}),
        export_for(tmp_path, "bob", {"04-first-dockerfile": entry("failed", 5, 30, ["exec-form"])}),
        export_for(tmp_path, "carol", {"04-first-dockerfile": entry("failed", 1, 1, ["exec-form", "workdir"])}),
        export_for(tmp_path, "dan", {}),
    ]


def test_report_table_per_exercise_with_a_bar_chart(tmp_path: Path) -> None:
    result = run("report", *map(str, class_exports(tmp_path)))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "4 learners: alice, bob, carol, dan"
    first = next(line for line in lines if line.startswith("04-first-dockerfile") and "/3" in line)
    assert first.split()[1:3] == ["1/3", "2"]  # passed/attempted, median attempts
    assert first.endswith("exec-form (2)")
    assert next(line for line in lines if line.startswith("10-batch-job")).endswith("exit-code (1)")
    bars = lines[lines.index("passed, of 4 learners") + 1 :]
    assert bars[0].startswith("04-first-dockerfile") and bars[0].endswith("######" + "." * 18 + "  1/4")


def test_report_html_is_one_self_contained_page(tmp_path: Path) -> None:
    exports = class_exports(tmp_path)
    sneaky = export_for(tmp_path, "<script>alert(1)</script>", {"04-first-dockerfile": entry("passed", 1, 2, [])})
    out = tmp_path / "class.html"
    result = run("report", *map(str, exports), str(sneaky), "--format", "html", "--output", str(out))
    assert result.returncode == 0, result.stderr
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<code>04-first-dockerfile</code>" in page
    assert "&lt;script&gt;" in page and "<script>" not in page
    assert "http" not in page and "<link" not in page  # nothing fetched from elsewhere


def test_unreadable_or_malformed_exports_are_named_and_exit_2(tmp_path: Path) -> None:
    good = export_for(tmp_path, "alice", {})
    not_json = tmp_path / "notes.json"
    not_json.write_text("hello")
    assert_clear_failure(run("report", str(good), str(not_json)), 2, f"{not_json} is not a progress export: not JSON")
    other = tmp_path / "other.json"
    other.write_text('{"version": 1, "exercises": {}}')
    assert_clear_failure(run("report", str(other)), 2, f"{other} is not a progress export: format")
    broken = json.loads(good.read_text())
    broken["exercises"] = [{"exercise": "04-x", "status": "passed", "attempts": "many", "seconds_spent": 1, "failing_checks": []}]
    bad_entry = tmp_path / "bad.json"
    bad_entry.write_text(json.dumps(broken))
    assert_clear_failure(run("report", str(bad_entry)), 2, "exercises[0].attempts: missing or of the wrong type")
    assert_clear_failure(run("report", str(tmp_path / "absent.json")), 2, "cannot read")
    assert_clear_failure(run("report", str(good), "--output", str(tmp_path / "no" / "r.txt")), 2, "cannot write")
    assert_clear_failure(run("progress", "export", "--learner", " "), 2, "--learner must not be empty")


def test_an_export_nested_thousands_deep_is_refused_not_a_traceback(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000)
    assert_clear_failure(run("report", str(deep)), 2, f"{deep} is not a progress export: it nests too deep")
