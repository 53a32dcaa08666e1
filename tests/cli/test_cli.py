"""The command line as a user runs it: exit codes, formats, and messages instead of tracebacks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tutor import __version__


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tutor", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0 and __version__ in result.stdout


def test_list_json_has_ids_titles_lessons_status(tmp_path: Path) -> None:
    result = run("list", "--format", "json", cwd=tmp_path)
    rows = json.loads(result.stdout)
    assert rows and {"id", "title", "lesson", "status"} <= set(rows[0])
    assert all(row["status"] == "not started" for row in rows)


def test_unknown_exercise_is_a_usage_error_with_a_suggestion() -> None:
    result = run("check", "04-first-dockerfil")
    assert result.returncode == 2
    assert "Did you mean 04-first-dockerfile" in result.stderr and "Traceback" not in result.stderr


def test_missing_dir_is_a_usage_error(tmp_path: Path) -> None:
    result = run("check", "04-first-dockerfile", "--dir", str(tmp_path / "nope"))
    assert result.returncode == 2 and "is not a folder" in result.stderr


def test_malformed_exercise_names_file_and_field(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    (pack / "exercises" / "50-broken" / "starter").mkdir(parents=True)
    (pack / "exercises" / "50-broken" / "solution").mkdir(parents=True)
    (pack / "exercises" / "50-broken" / "exercise.toml").write_text('title = "x"\nlesson = 3\n')
    result = run("--content", str(pack), "list")
    assert result.returncode == 2
    assert "exercises/50-broken/exercise.toml: lesson: must be a str" in result.stderr
    assert "exercises/50-broken/exercise.toml: task: required field is missing" in result.stderr


def test_no_engine_exits_3_with_what_to_do(tmp_path: Path) -> None:
    env = {"DOCKER_HOST": f"unix://{tmp_path}/absent.sock"}
    result = run("check", "04-first-dockerfile", "--solution", env=env)
    assert result.returncode == 3
    assert "No Docker engine answers" in result.stderr and "DOCKER_HOST" in result.stderr
    assert "Traceback" not in result.stderr
    doctor = run("doctor", env=env)
    assert doctor.returncode == 3 and "FAIL Docker engine" in doctor.stdout


@pytest.mark.docker
def test_check_formats_and_exit_codes(tmp_path: Path) -> None:
    passed = run("check", "04-first-dockerfile", "--solution", "--format", "json")
    assert passed.returncode == 0, passed.stderr
    report = json.loads(passed.stdout)
    assert report["exercise"] == "04-first-dockerfile" and report["passed"] is True
    assert {"ok", "seconds", "log_tail", "error"} <= set(report["build"])
    assert isinstance(report["build"]["log_tail"], list)  # a list of lines, as in `grade --format json`
    assert report["build"]["builder"] in ("buildkit", "classic") and report["build"]["builder_why"], report["build"]
    assert {"id", "kind", "title", "passed", "message", "hint"} <= set(report["checks"][0])

    failed = run("check", "04-first-dockerfile", "--format", "junit")
    assert failed.returncode == 1
    suite = ET.fromstring(failed.stdout.split("\n", 1)[1]).find("testsuite")
    assert suite is not None and int(suite.get("failures", "0")) >= 1
    assert suite.find("testcase[@classname='04-first-dockerfile.exec-form']/failure") is not None  # named by its title

    listing = json.loads(run("list", "--format", "json").stdout)
    assert {r["id"]: r["status"] for r in listing}["04-first-dockerfile"] == "failed"

    # doctor names the builder the check used, and why; where BuildKit builds, what serve and grade do.
    doctor_out = run("doctor").stdout
    assert re.search(r"Docker engine: (Docker Engine|Podman) \d", doctor_out), doctor_out
    doctor = [line for line in doctor_out.splitlines() if "builder:" in line]
    assert doctor and f"builder: {report['build']['builder']}: {report['build']['builder_why']}" in doctor[0], doctor
    if report["build"]["builder"] == "buildkit":
        assert "`serve` and `grade` build with the classic builder" in doctor[0], doctor
        assert "only in the exercises that teach it, and refused in the others" in doctor[0], doctor
    # and which limits each builder's steps get on this engine.
    from tutor.engine.builders.step_limits import supported
    from tutor.engine.dockerhost import connect

    limits = [line for line in doctor_out.splitlines() if "build step limits:" in line]
    assert limits and ("BuildKit's steps each get 512 processes and the build's memory from the tutor's step warden" in limits[0]) == supported(connect()), limits
    # --builder is taken after the command too, and then decides for serve and grade as well.
    asked = [line for line in run("doctor", "--builder", "classic").stdout.splitlines() if "builder:" in line]
    assert asked and "builder: classic: asked for" in asked[0] and "in `serve` and `grade` too" in asked[0], asked


@pytest.mark.docker
def test_workspace_copy_is_never_overwritten(tmp_path: Path) -> None:
    workspace = Path(os.environ["DOCKER_TUTOR_WORKSPACE"])
    run("check", "04-first-dockerfile")
    dockerfile = workspace / "04-first-dockerfile" / "Dockerfile"
    dockerfile.write_text("FROM python:3.11-slim\nWORKDIR /app\nCOPY train.py .\nCMD [\"python\", \"train.py\"]\n")
    result = run("check", "04-first-dockerfile")
    assert result.returncode == 0, result.stdout
    assert "WORKDIR /app" in dockerfile.read_text()


@pytest.mark.docker
def test_verify_selected_exercises() -> None:
    result = run("verify", "04-first-dockerfile", "12-non-root", "--jobs", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed, 0 failed" in result.stdout
    # 12 enforces house rules taught before it: each broken once is rejected by its rule.
    assert "house-rule mutants rejected and named: 3/3 (100%)" in result.stdout, result.stdout


def test_closed_pipe_is_not_a_traceback() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tutor", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    process.stdout.close()  # the reader is gone before the first line is written, as with `| head`
    stderr = process.stderr.read()
    process.wait(60)
    assert process.returncode == 1 and "Traceback" not in stderr


def test_a_pack_alone_or_added_to_the_built_in_curriculum(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    (pack / "lessons").mkdir(parents=True)
    (pack / "lessons" / "50-workshop.md").write_text('+++\ntitle = "Our workshop"\n+++\n# Hi\n')
    exercise = pack / "exercises" / "50-our-image"
    for sub in ("starter", "solution"):
        (exercise / sub).mkdir(parents=True)
        (exercise / sub / "Dockerfile").write_text("FROM busybox\n")
    (exercise / "exercise.toml").write_text(
        'title = "Ours"\nlesson = "50-workshop"\ntask = "t"\n[[checks]]\nkind = "dockerfile.base"\nimage = "busybox"\n'
    )
    added = json.loads(run("--content", str(pack), "list", "--format", "json").stdout)
    alone = json.loads(run("--content", str(pack), "--content-only", "list", "--format", "json").stdout)
    assert "50-our-image" in [r["id"] for r in added] and len(added) > 1
    assert [r["id"] for r in alone] == ["50-our-image"]
    assert run("--content-only", "list").returncode == 2
