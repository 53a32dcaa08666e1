"""docker-tutor lint-content: file:field messages, exit 2 for content, 1 for grading, 0 when all is well."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.classroom.helpers import run
from tests.engine.helpers import context

# What every test pack's exercise.toml starts with: the exercise, before its checks.
EXERCISE_HEADER = '''
title = "Say hello"
lesson = "50-hello"
task = "Print hello with CMD in exec form."
hints = ["CMD [\\"echo\\", \\"hello\\"]"]
files = ["Dockerfile"]
'''
EXERCISE_TOML = EXERCISE_HEADER + '''
[[checks]]
id = "exec-form"
kind = "dockerfile.exec-form"
instructions = ["CMD"]

[[checks]]
id = "says-hello"
kind = "command"
expectedOutput = ["^hello$"]
'''
MISTAKES_TOML = '''
[[mistakes]]
name = "shell-form"
fails = ["exec-form"]
message = "shell form"
[mistakes.files]
Dockerfile = "FROM busybox:latest\\nCMD echo hello\\n"
'''


def make_pack(root: Path, **overrides: str) -> Path:
    """A one-lesson, one-exercise pack on busybox; overrides replace files by relative path."""
    files = {
        "lessons/50-hello.md": '+++\ntitle = "Hello"\n+++\n# Hello\n',
        "exercises/50-say-hello/exercise.toml": EXERCISE_TOML,
        "exercises/50-say-hello/mistakes.toml": MISTAKES_TOML,
        "exercises/50-say-hello/solution/Dockerfile": 'FROM busybox:latest\nCOPY greeting.txt /\nCMD ["echo", "hello"]\n',
        "exercises/50-say-hello/solution/greeting.txt": "hello\n",
        "exercises/50-say-hello/starter/Dockerfile": "FROM busybox:latest\nCMD echo hello\n",
    }
    files.update({name.replace("__", "/"): text for name, text in overrides.items()})
    return context(root / "pack", files)


def lint(pack: Path, *extra: str):
    """The pack on its own (as `--content-only --content PACK` grades it): its own checks, no built-in house rules."""
    return run("--content-only", "lint-content", str(pack), *extra)


def test_lint_applies_the_built_in_house_rules_as_grade_does(tmp_path: Path) -> None:
    pack = make_pack(tmp_path)
    on_top = run("lint-content", str(pack), "--no-build")
    assert "house rules in force, as grade applies them: exec-form, no-secrets, pinned-base" in on_top.stdout, on_top.stdout
    alone = lint(pack, "--no-build")
    assert "house rules in force, as grade applies them: none" in alone.stdout, alone.stdout


@pytest.mark.docker
def test_lint_and_grade_of_a_pack_agree_on_the_built_in_house_rules(tmp_path: Path) -> None:
    pack = make_pack(tmp_path)  # its solution starts FROM busybox:latest: the built-in pinned-base rule fails it
    linted = run("lint-content", str(pack))
    graded = run("--content", str(pack), "check", "50-say-hello", "--solution", "--format", "json")
    assert linted.returncode == 1 and "solution: fails check rule-pinned-base" in linted.stdout, linted.stdout
    failing = [c["id"] for c in json.loads(graded.stdout)["checks"] if not c["passed"] and not c["skipped"]]
    assert graded.returncode == 1 and failing == ["rule-pinned-base"], graded.stdout
    # The pack alone, both ways: no built-in rule, and both pass.
    assert lint(pack).returncode == 0
    assert run("--content-only", "--content", str(pack), "check", "50-say-hello", "--solution").returncode == 0


def test_a_sound_pack_passes_without_building(tmp_path: Path) -> None:
    result = lint(make_pack(tmp_path), "--no-build")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 lesson, 1 exercise" in result.stdout


def test_schema_errors_name_file_and_field(tmp_path: Path) -> None:
    toml = EXERCISE_TOML.replace('title = "Say hello"', "title = 5")
    result = lint(make_pack(tmp_path / "a", **{"exercises/50-say-hello/exercise.toml": toml}), "--no-build")
    assert result.returncode == 2
    assert "exercises/50-say-hello/exercise.toml: title: must be a str" in result.stdout
    toml = EXERCISE_TOML.replace('lesson = "50-hello"', 'lesson = "49-gone"')
    result = lint(make_pack(tmp_path / "b", **{"exercises/50-say-hello/exercise.toml": toml}), "--no-build")
    assert "exercises/50-say-hello/exercise.toml: lesson: no lesson named '49-gone'" in result.stdout


def test_a_check_that_does_not_compile_is_named(tmp_path: Path) -> None:
    toml = EXERCISE_TOML.replace('expectedOutput = ["^hello$"]', 'expectedOutput = ["(unclosed"]\nexitcode = 0')
    result = lint(make_pack(tmp_path, **{"exercises/50-say-hello/exercise.toml": toml}), "--no-build")
    assert result.returncode == 2
    assert "exercises/50-say-hello/exercise.toml: checks[1].exitcode: unknown field" in result.stdout


def test_a_bad_regular_expression_is_named(tmp_path: Path) -> None:
    toml = EXERCISE_TOML.replace('expectedOutput = ["^hello$"]', 'expectedOutput = ["(unclosed"]')
    result = lint(make_pack(tmp_path, **{"exercises/50-say-hello/exercise.toml": toml}), "--no-build")
    assert result.returncode == 2
    assert "checks[1].expectedOutput: not a valid regular expression" in result.stdout


def test_missing_referenced_files_are_named(tmp_path: Path) -> None:
    pack = make_pack(tmp_path)
    (pack / "exercises/50-say-hello/solution/greeting.txt").unlink()
    (pack / "exercises/50-say-hello/starter/Dockerfile").unlink()
    result = lint(pack, "--no-build")
    assert result.returncode == 2
    assert "exercises/50-say-hello/exercise.toml: files: starter/Dockerfile does not exist" in result.stdout
    pack = make_pack(tmp_path / "again")
    (pack / "exercises/50-say-hello/solution/greeting.txt").unlink()
    result = lint(pack, "--no-build")
    assert result.returncode == 2
    assert "exercises/50-say-hello/solution/Dockerfile: line 2: COPY source 'greeting.txt' does not exist" in result.stdout


def test_a_mistake_naming_an_unknown_check_is_named(tmp_path: Path) -> None:
    mistakes = MISTAKES_TOML.replace('fails = ["exec-form"]', 'fails = ["exec-frm"]').replace('"shell form"', '"(shell"')
    result = lint(make_pack(tmp_path, **{"exercises/50-say-hello/mistakes.toml": mistakes}), "--no-build")
    assert result.returncode == 2
    assert "exercises/50-say-hello/mistakes.toml: mistakes[0].fails: no check with id 'exec-frm'" in result.stdout
    assert "mistakes[0].message: not a valid regular expression" in result.stdout


def test_not_a_content_pack_is_exit_2(tmp_path: Path) -> None:
    result = lint(tmp_path / "absent")
    assert result.returncode == 2 and "is not a content pack" in result.stderr and "Traceback" not in result.stderr


def _images_of(host, exercise_id: str) -> list[str]:
    """This test's images of the exercise: its own data folder's owner id (others may lint the same pack)."""
    from tutor.engine.owner import OWNER_LABEL, owner_id

    labels = [f"org.docker-tutor.exercise={exercise_id}", f"{OWNER_LABEL}={owner_id()}"]
    return sorted(i["Id"] for i in host.api.images(filters={"label": labels}))


@pytest.mark.docker
def test_with_an_engine_the_solution_passes_and_the_starter_fails(tmp_path: Path, host) -> None:
    before = _images_of(host, "50-say-hello")
    result = lint(make_pack(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   50-say-hello" in result.stdout
    assert _images_of(host, "50-say-hello") == before  # lint leaves no image behind


@pytest.mark.docker
def test_a_failing_solution_or_passing_starter_is_exit_1(tmp_path: Path) -> None:
    broken = make_pack(tmp_path / "a", **{"exercises/50-say-hello/solution/Dockerfile": 'FROM busybox:latest\nCOPY greeting.txt /\nCMD ["echo", "bye"]\n'})
    result = lint(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "exercises/50-say-hello/solution: fails check says-hello" in result.stdout
    solved = make_pack(tmp_path / "b", **{"exercises/50-say-hello/starter/Dockerfile": 'FROM busybox:latest\nCMD ["echo", "hello"]\n'})
    result = lint(solved)
    assert result.returncode == 1
    assert "exercises/50-say-hello/starter: passes every check" in result.stdout


def test_copy_forms_that_name_no_local_file_are_not_reported(tmp_path: Path) -> None:
    dockerfile = (
        "FROM busybox:latest AS build\nRUN echo hi > /built\n"
        "FROM busybox:latest\nCOPY . /src\nCOPY *.txt /app/\nCOPY --from=build /built /built\n"
        'COPY ["greeting.txt", "/g.txt"]\nADD https://example.org/x.tar.gz /x\nCMD ["echo", "hello"]\n'
    )
    result = lint(make_pack(tmp_path, **{"exercises/50-say-hello/solution/Dockerfile": dockerfile}), "--no-build")
    assert result.returncode == 0, result.stdout


def test_the_built_in_curriculum_lints_clean_without_building() -> None:
    from tutor import locations

    result = lint(locations.content_root(), "--no-build")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("command", [["list"], ["check", "50-say-hello"], []])
def test_a_broken_pack_does_not_load_anywhere(tmp_path: Path, command: list[str]) -> None:
    """The tutor refuses what lint-content refuses, with the same file:field message, before any learner meets it."""
    toml = EXERCISE_TOML.replace('expectedOutput = ["^hello$"]', 'expectedOutput = ["^hello$"]\nexitcode = 0')
    pack = make_pack(tmp_path, **{"exercises/50-say-hello/exercise.toml": toml})
    linted = lint(pack, "--no-build")
    loaded = run("--content-only", "--content", str(pack), *command)
    message = "exercises/50-say-hello/exercise.toml: checks[1].exitcode: unknown field"
    assert linted.returncode == loaded.returncode == 2
    assert message in linted.stdout and message in loaded.stderr and "Traceback" not in loaded.stderr


@pytest.mark.docker
def test_a_mistake_whose_message_the_learner_never_sees_fails_lint(tmp_path: Path) -> None:
    mistakes = MISTAKES_TOML.replace('message = "shell form"', 'message = "zzz"')
    result = lint(make_pack(tmp_path / "a", **{"exercises/50-say-hello/mistakes.toml": mistakes}))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "exercises/50-say-hello/mistakes.toml: mistakes[0].message: 'zzz' does not match what the learner is told" in result.stdout
    # A "mistake" that is in fact correct, and one that fails another check than it names.
    correct = MISTAKES_TOML.replace("CMD echo hello", 'COPY greeting.txt /\\nCMD [\\"echo\\", \\"hello\\"]')
    result = lint(make_pack(tmp_path / "b", **{"exercises/50-say-hello/mistakes.toml": correct}))
    assert result.returncode == 1 and "'shell-form' passes every check; a mistake must fail" in result.stdout
    other = MISTAKES_TOML.replace('fails = ["exec-form"]', 'fails = ["says-hello"]')
    result = lint(make_pack(tmp_path / "c", **{"exercises/50-say-hello/mistakes.toml": other}))
    assert result.returncode == 1 and "mistakes[0].fails: 'shell-form' does not fail says-hello (it fails: exec-form)" in result.stdout



def test_an_exercise_whose_solution_only_buildkit_builds_must_say_so(tmp_path: Path) -> None:
    """Without `[build] buildkit = true`, serve and grade refuse that solution on a shared engine."""
    solution = 'FROM busybox:latest\nRUN --mount=type=cache,target=/c true\nCMD ["echo", "hello"]\n'
    result = lint(make_pack(tmp_path, **{"exercises/50-say-hello/solution/Dockerfile": solution}), "--no-build")
    assert result.returncode == 2
    assert "exercise.toml: build.buildkit: the solution uses what only BuildKit builds (line 2: RUN --mount)" in result.stdout
    declared = EXERCISE_TOML + "\n[build]\nbuildkit = true\n"
    result = lint(make_pack(tmp_path / "needless", **{"exercises/50-say-hello/exercise.toml": declared}), "--no-build")
    assert result.returncode == 2 and "build.buildkit: true, but the solution builds with either builder" in result.stdout
