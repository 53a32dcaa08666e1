"""docker-tutor grade EXERCISE SUBMISSIONS_DIR: a class graded in parallel, leaving no image behind."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.classroom.helpers import assert_clear_failure, run
from tests.content.test_lint_content import make_pack
from tutor import locations
from tutor.content.loader import load_curriculum
from tutor.engine.folder_images import image_tag

EXERCISE = "04-first-dockerfile"
PACK_EXERCISE = "50-say-hello"  # tests/content/test_lint_content.py's pack


@pytest.fixture(scope="module")
def exercise():
    return load_curriculum([locations.content_root()]).exercise(EXERCISE)


def make_class(root: Path, exercise, passing: list[str], failing: list[str], empty: list[str] = ()) -> Path:
    for learner in passing:
        shutil.copytree(exercise.solution_dir, root / learner)
    for learner in failing:
        shutil.copytree(exercise.starter_dir, root / learner)
    for learner in empty:
        (root / learner).mkdir(parents=True)
        (root / learner / "notes.txt").write_text("I did not get to it\n")
    return root


@pytest.mark.docker
def test_a_class_is_graded_in_parallel_with_progress_and_a_summary(tmp_path: Path, exercise, host) -> None:
    submissions = make_class(tmp_path / "class", exercise, ["alice"], ["bob"], empty=["carol"])
    (submissions / ".git").mkdir()  # not a learner
    result = run("grade", EXERCISE, str(submissions), "--jobs", "3")
    assert result.returncode == 1, result.stderr
    progress = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert sorted(line[:5] for line in progress) == ["[1/3]", "[2/3]", "[3/3]"]
    table = result.stdout.split("\n\n")[0]
    rows = {block.split()[0]: block for block in re.split(r"\n(?=\S)", table)[1:]}  # a learner's row and its reasons
    assert set(rows) == {"alice", "bob", "carol"}
    assert "passed" in rows["alice"]
    assert "FAILED" in rows["bob"] and "check failed" in rows["bob"]
    assert "Exec form (exec-form): " in rows["bob"] or "(exec-form): " in rows["bob"]  # title and reason
    assert "FAILED" in rows["carol"] and "no Dockerfile" in rows["carol"]
    assert "1 passed, 2 failed of 3; most failed:" in result.stdout
    assert "failed, by cause: no Dockerfile 1 (carol); check failed 1 (bob)" in result.stdout
    for learner in ("alice", "bob"):
        assert host.image_attrs(image_tag(exercise, (submissions / learner).resolve())) is None


@pytest.mark.docker
def test_every_machine_format_and_exit_0_when_all_pass(tmp_path: Path) -> None:
    # The formats are the same for any exercise: a busybox one (built in a second, not a Python image).
    pack = make_pack(tmp_path)
    exercise = load_curriculum([pack]).exercise(PACK_EXERCISE)
    submissions = make_class(tmp_path / "class", exercise, ["ann", "ben"], [])
    grade = ("--content-only", "--content", str(pack), "grade", PACK_EXERCISE, str(submissions))
    as_csv = run(*grade, "--format", "csv")
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [(r["learner"], r["passed"]) for r in rows] == [("ann", "true"), ("ben", "true")]
    assert "2 passed, 0 failed of 2" in as_csv.stderr
    # Which engine graded: the one the tutor found (here the shared engine's socket), by its URL.
    assert {r["engine"] for r in rows} == {os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")}, as_csv.stdout

    (submissions / "cy").mkdir()
    shutil.copytree(exercise.starter_dir, submissions / "cy", dirs_exist_ok=True)
    as_junit = run(*grade, "--format", "junit")
    assert as_junit.returncode == 1
    suites = {s.get("name"): s for s in ET.fromstring(as_junit.stdout.split("\n", 1)[1])}
    assert set(suites) == {"ann", "ben", "cy"}
    assert suites["cy"].get("failures") != "0" and suites["ann"].get("failures") == "0"

    result = run(*grade, "--format", "json")
    assert result.returncode == 1, result.stderr
    as_json = json.loads(result.stdout)
    why = {s["learner"]: (s["failing_checks"], s["report"]["build"]["error"]) for s in as_json["submissions"]}
    assert as_json["exercise"] == PACK_EXERCISE and (as_json["passed"], as_json["failed"]) == (2, 1), why
    assert as_json["most_failed"][0]["learners"] == 1
    assert [s["learner"] for s in as_json["submissions"]] == ["ann", "ben", "cy"]


def test_bad_input_is_a_clear_usage_error(tmp_path: Path) -> None:
    assert_clear_failure(run("grade", EXERCISE, str(tmp_path / "absent")), 2, "is not a folder")
    (tmp_path / "empty").mkdir()
    assert_clear_failure(run("grade", EXERCISE, str(tmp_path / "empty")), 2, "holds no submissions")
    (tmp_path / "empty" / "dan").mkdir()
    assert_clear_failure(run("grade", EXERCISE, str(tmp_path / "empty"), "--jobs", "0"), 2, "--jobs must be at least 1")
    assert_clear_failure(run("grade", "04-first-dockerfil", str(tmp_path / "empty")), 2, "Did you mean")


@pytest.mark.docker
def test_ctrl_c_stops_the_class_and_leaves_no_container(tmp_path: Path, exercise, host) -> None:
    token = uuid.uuid4().hex
    learners = ["slow1", "slow2"]
    for learner in learners:
        (tmp_path / "class" / learner).mkdir(parents=True)
        (tmp_path / "class" / learner / "Dockerfile").write_text(f"FROM busybox:latest\nRUN echo {token} && sleep 60\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "tutor", "grade", EXERCISE, str(tmp_path / "class"), "--jobs", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _containers_running(host, token):
        time.sleep(0.2)
    assert _containers_running(host, token), "the builds never started"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert not _containers_running(host, token, all=True)
    for learner in learners:
        assert host.image_attrs(image_tag(exercise, (tmp_path / "class" / learner).resolve())) is None


def _containers_running(host, token: str, all: bool = False) -> list[dict]:
    return [c for c in host.api.containers(all=all) if token in c.get("Command", "")]


@pytest.mark.docker
def test_identical_submissions_graded_at_once_all_pass(tmp_path: Path, exercise, host) -> None:
    # Identical folders build identical image ids: removing one learner's image must not pull it
    # from under another learner's checks.
    learners = [f"twin{n}" for n in range(6)]
    submissions = make_class(tmp_path / "class", exercise, learners, [])
    result = run("grade", EXERCISE, str(submissions), "--jobs", "6", "--format", "json")
    data = json.loads(result.stdout)
    assert result.returncode == 0, {s["learner"]: s["failing_checks"] for s in data["submissions"]}
    for learner in learners:
        assert host.image_attrs(image_tag(exercise, (submissions / learner).resolve())) is None


@pytest.mark.docker
def test_causes_near_misses_twins_and_a_progress_bar_in_a_terminal(tmp_path: Path, exercise) -> None:
    """Each failure under its cause, a 'did you mean' for a misnamed Dockerfile, copies flagged."""
    submissions = make_class(tmp_path / "class", exercise, ["ann", "ann-copy"], ["bob"])
    (submissions / "cy").mkdir()
    (submissions / "cy" / "dockerfile").write_text("FROM busybox\n")
    (submissions / "dee" / "project").mkdir(parents=True)
    (submissions / "dee" / "project" / "Dockerfile").write_text("FROM busybox\n")
    (submissions / "eve").mkdir()
    (submissions / "eve" / "Dockerfile").write_bytes(b"\x7fELF\x00\x01binary")
    (submissions / "fay").mkdir()
    (submissions / "fay" / "Dockerfile").write_text("FROM busybox:latest\nRUN exit 3\n")
    result = run("grade", EXERCISE, str(submissions), "--format", "json")
    data = {s["learner"]: s for s in json.loads(result.stdout)["submissions"]}
    assert {name: s["cause"] for name, s in data.items()} == {
        "ann": "", "ann-copy": "", "bob": "check failed", "cy": "no Dockerfile", "dee": "no Dockerfile",
        "eve": "not a Dockerfile", "fay": "build failed",
    }
    assert data["cy"]["did_you_mean"] == "dockerfile" and data["dee"]["did_you_mean"] == "project/Dockerfile"
    assert data["ann"]["identical_to"] == ["ann-copy"] and data["bob"]["identical_to"] == []
    assert json.loads(result.stdout)["causes"]["no Dockerfile"] == ["cy", "dee"]

    table = run("grade", EXERCISE, str(submissions)).stdout
    assert "(did you mean project/Dockerfile?)" in table and "identical submissions: ann, ann-copy" in table
    # In a terminal: one bar redrawn in place, not a line per learner.
    import pty

    main, child = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "tutor", "grade", EXERCISE, str(submissions), "--format", "csv"],
        stdout=subprocess.PIPE, stderr=child, text=True,
    )
    os.close(child)
    output = process.communicate(timeout=300)[0]
    drawn = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    os.close(main)
    assert output.startswith("learner,passed,score")
    assert b"grading [" in drawn and b"7/7, 2 passed" in drawn and b"\r" in drawn and b"[1/7]" not in drawn


@pytest.mark.docker
def test_grade_builds_a_buildkit_only_dockerfile_with_buildkit_and_the_others_classic(tmp_path: Path, host) -> None:
    """grade's default (auto): the classic builder keeps build steps' memory limit, so it builds
    every Dockerfile it can; one that uses what only BuildKit builds (06b's cache mount) gets BuildKit."""
    exercise_06b = load_curriculum([locations.content_root()]).exercise("06b-pip-cache-mount")
    submissions = tmp_path / "class"
    shutil.copytree(exercise_06b.solution_dir, submissions / "ada")  # RUN --mount=type=cache
    shutil.copytree(exercise_06b.starter_dir, submissions / "bob")  # no BuildKit-only syntax
    result = run("grade", "06b-pip-cache-mount", str(submissions), "--format", "json", env={"DOCKER_TUTOR_BUILDER": ""})
    builds = {s["learner"]: s["report"]["build"] for s in json.loads(result.stdout)["submissions"]}
    assert builds["ada"]["ok"] and builds["ada"]["builder"] == "buildkit", builds["ada"]
    assert "line 6: RUN --mount" in builds["ada"]["builder_why"]
    assert builds["bob"]["ok"] and builds["bob"]["builder"] == "classic", builds["bob"]
    assert "memory, process and file-size limits" in builds["bob"]["builder_why"]
    passed = {s["learner"]: s["passed"] for s in json.loads(result.stdout)["submissions"]}
    assert passed == {"ada": True, "bob": False}, result.stderr


@pytest.mark.docker
def test_grade_refuses_buildkit_only_syntax_outside_the_exercise_that_teaches_it(tmp_path: Path, host) -> None:
    """On a shared engine, BuildKit's steps run without the classic builder's process and
    file-size limits: a flag only BuildKit builds must not be a way around them in any exercise
    but the one that teaches it (06b, `[build] buildkit = true`)."""
    exercise = load_curriculum([locations.content_root()]).exercise("04-first-dockerfile")
    submissions = tmp_path / "class"
    for name, step in (("ada", "RUN --mount=type=cache,target=/root/.cache true"), ("bob", "COPY --chmod=755 train.py /opt/")):
        shutil.copytree(exercise.solution_dir, submissions / name)
        dockerfile = submissions / name / "Dockerfile"
        lines = dockerfile.read_text().splitlines()
        dockerfile.write_text("\n".join([lines[0], step, *lines[1:]]) + "\n")
    result = run("grade", exercise.id, str(submissions), "--format", "json", env={"DOCKER_TUTOR_BUILDER": ""})
    for submission in json.loads(result.stdout)["submissions"]:
        build = submission["report"]["build"]
        assert not submission["passed"] and not build["ok"] and not build["builder"], build
        assert "only BuildKit builds (line 2:" in build["error"] and "built only in the exercises that teach it" in build["error"]
        assert "what both builders build" in build["hint"]


@pytest.mark.docker
def test_archive_and_tool_leftovers_are_not_learners_and_are_named_as_skipped(tmp_path: Path, exercise) -> None:
    submissions = make_class(tmp_path / "class", exercise, [], [], empty=["carol"])
    (submissions / "__MACOSX" / "carol").mkdir(parents=True)  # what macOS's zip adds beside each folder
    (submissions / "__MACOSX" / "carol" / "._Dockerfile").write_bytes(b"\x00\x05\x16\x07")
    (submissions / ".git").mkdir()
    (submissions / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    outside = tmp_path / "outside"  # a link may lead out of the class folder: never followed
    outside.mkdir()
    (outside / "Dockerfile").write_text("FROM busybox\n")
    (submissions / "mallory").symlink_to(outside)
    result = run("grade", EXERCISE, str(submissions), "--format", "csv")
    assert [row["learner"] for row in csv.DictReader(io.StringIO(result.stdout))] == ["carol"], result.stdout
    assert "skipped, not a learner's folder: .DS_Store, .git/, __MACOSX/, mallory (a link)" in result.stderr, result.stderr
    assert "of 1" in result.stderr


def test_names_that_differ_only_by_what_does_not_show_are_told_apart_and_aligned_in_the_table() -> None:
    from tutor.classroom.grading import Submission, as_table
    from tutor.engine.report import BuildResult, Report

    names = ["alice", "alice ", "José", "Jose\u0301", "bob\u200b", "张伟"]  # a space at the end, NFD, a zero-width space, wide
    report = Report("x", True, BuildResult(ok=True, seconds=1.0, log_tail=[]), [], 1.0, "")
    rows = as_table([Submission(name, report, 1, 1) for name in names]).splitlines()[1:7]
    assert [row.split("  passed")[0].rstrip() for row in rows] == ["alice", "'alice '", "José", "'Jose\\u0301'", "'bob\\u200b'", "张伟"], rows
    columns = {row.index("passed") + sum(1 for c in row[: row.index("passed")] if "\u4e00" <= c <= "\u9fff") for row in rows}
    assert len(columns) == 1, rows  # each row's verdict starts in the same terminal column
