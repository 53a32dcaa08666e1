"""Dockerfile facts, lint and context checks: judged from the files, each passing and failing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.helpers import context, exercise
from tutor.content.model import CheckSpec
from tutor.engine.checks import compile_check
from tutor.engine.grader import grade
from tutor.errors import ContentError


def no_engine():
    raise AssertionError("a static-only exercise must not need the engine")


def judge(tmp_path: Path, check: dict, dockerfile: str, extra: dict | None = None):
    folder = context(tmp_path / "ctx", {"Dockerfile": dockerfile, **(extra or {})})
    report = grade(exercise([check]), folder, no_engine)
    assert report.build.skipped
    return report.checks[0]


CASES = [
    # kind, fields, a Dockerfile that passes, one that fails, what the failure message says
    ("dockerfile.base", {"image": "python:3.11-slim", "pinned": True},
     "FROM python:3.11-slim\n", "FROM python\n", "no tag"),
    ("dockerfile.base", {"pinned": True}, "FROM python:3.11-slim\n", "FROM python:latest\n", "latest"),
    ("dockerfile.base", {"digest": True}, "FROM busybox@sha256:" + "a" * 64 + "\n", "FROM busybox:1.36\n", "digest"),
    ("dockerfile.instruction", {"instruction": "USER", "matches": "^app$"},
     "FROM busybox\nUSER app\n", "FROM busybox\nUSER root\n", "no USER matching"),
    ("dockerfile.instruction", {"instruction": "ADD", "absent": True},
     "FROM busybox\nCOPY a /a\n", "FROM busybox\nADD a /a\n", "should not be"),
    ("dockerfile.forbid", {"pattern": "sudo", "reason": "containers need no sudo"},
     "FROM busybox\nRUN echo hi\n", "FROM busybox\nRUN sudo echo hi\n", "line 2.*no sudo"),
    ("dockerfile.order", {"first": "^COPY requirements", "then": "^COPY \\. "},
     "FROM busybox\nCOPY requirements.txt .\nCOPY . .\n", "FROM busybox\nCOPY . .\nCOPY requirements.txt .\n", "comes before"),
    ("dockerfile.exec-form", {}, 'FROM busybox\nCMD ["sh"]\n', "FROM busybox\nCMD sh -c 'echo hi'\n", "shell form"),
    ("dockerfile.exec-form", {}, 'FROM busybox\nENTRYPOINT ["sh"]\n', "FROM busybox\n", "no CMD or ENTRYPOINT"),
    ("dockerfile.stages", {"min": 2}, "FROM busybox AS build\nFROM busybox\n", "FROM busybox\n", "1 stage"),
    ("lint", {"rules": ["DL3007"]}, "FROM busybox:1.36\n", "FROM busybox:latest\n", "DL3007"),
]


@pytest.mark.parametrize("kind,fields,good,bad,message", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_static_check_passes_and_fails(tmp_path: Path, kind: str, fields: dict, good: str, bad: str, message: str) -> None:
    check = {"kind": kind, **fields}
    assert judge(tmp_path / "good", check, good).passed
    result = judge(tmp_path / "bad", check, bad)
    assert not result.passed
    assert __import__("re").search(message, result.message), result.message
    assert result.hint


def test_context_check_counts_what_dockerignore_leaves_in(tmp_path: Path) -> None:
    check = {"kind": "context", "max_mb": 0.05, "excluded": ["data", ".env"]}
    files = {"data/train.csv": "x" * 100_000, ".env": "TOKEN=1", "app.py": "print(1)"}
    bad = judge(tmp_path / "bad", check, "FROM busybox\n", files)
    assert not bad.passed and "data" in bad.message and ".dockerignore" in bad.message
    good = judge(tmp_path / "good", check, "FROM busybox\n", {**files, ".dockerignore": "data\n.env\n"})
    assert good.passed, good.message


# A JSON array that starts a shell with -c: the shell is PID 1 and signals stop there.
SHELL_AS_PID_ONE = [
    'CMD ["sh", "-c", "echo start; python train.py"]',
    'CMD ["/bin/sh", "-c", "python train.py"]',
    'CMD ["/bin/bash", "-lc", "python train.py"]',
    'CMD ["bash", "-e", "-c", "python train.py"]',
    'CMD ["dash", "-c", "python train.py"]',
    'CMD ["ash", "-c", "python train.py"]',
    'CMD ["/usr/bin/env", "sh", "-c", "python train.py"]',
    'CMD ["env", "-i", "HOME=/root", "bash", "-c", "python train.py"]',
    'CMD ["busybox", "sh", "-c", "python train.py"]',
    'CMD ["sh", "-o", "errexit", "-c", "python train.py"]',
    'ENTRYPOINT ["sh", "-c"]\nCMD ["python train.py"]',
    'ENTRYPOINT ["sh", "-c", "echo start; python train.py"]',
    'CMD ["sh", "-c", "exec python train.py | tee log"]',
    'CMD ["sh", "-c", "exec python train.py &"]',
    'CMD ["sh", "-c", "exec >log 2>&1; python train.py"]',
    'CMD ["sh", "-c", "echo \\"a; exec python train.py\\""]',
    'FROM busybox AS base\nENTRYPOINT ["sh", "-c"]\nFROM base\nCMD ["python train.py"]',
]
# The program itself, or a shell that hands PID 1 over to it with exec.
PROGRAM_AS_PID_ONE = [
    'CMD ["python", "train.py"]',
    'CMD ["python", "-c", "import time"]',
    'CMD ["sh", "-c", "exec python train.py"]',
    'CMD ["/bin/bash", "-lc", "cd /app && exec python train.py \\"$EPOCHS\\" 2>&1"]',
    'ENTRYPOINT ["sh", "-c", "mkdir -p /out; exec \\"$@\\"", "sh"]\nCMD ["python", "train.py"]',
    'CMD ["sh", "entrypoint.sh"]',
    'CMD ["sh"]',
    # ENTRYPOINT resets a CMD it inherits: the shell's CMD never runs.
    'FROM busybox AS base\nCMD ["sh", "-c", "python train.py"]\nFROM base\nENTRYPOINT ["python", "train.py"]',
]


@pytest.mark.parametrize("lines", SHELL_AS_PID_ONE)
def test_a_json_array_that_starts_a_shell_is_not_exec_form(tmp_path: Path, lines: str) -> None:
    dockerfile = ("" if lines.startswith("FROM") else "FROM busybox\n") + lines + "\n"
    result = judge(tmp_path, {"kind": "dockerfile.exec-form"}, dockerfile)
    assert not result.passed
    assert "shell form in effect" in result.message and "exec" in result.message, result.message
    allowed = judge(tmp_path / "allowed", {"kind": "dockerfile.exec-form", "allow_shell": True}, dockerfile)
    assert allowed.passed, allowed.message


@pytest.mark.parametrize("lines", PROGRAM_AS_PID_ONE)
def test_a_json_array_that_starts_the_program_is_exec_form(tmp_path: Path, lines: str) -> None:
    dockerfile = ("" if lines.startswith("FROM") else "FROM busybox\n") + lines + "\n"
    result = judge(tmp_path, {"kind": "dockerfile.exec-form"}, dockerfile)
    assert result.passed, result.message


def test_a_shell_in_exec_form_is_told_how_to_hand_over_to_its_program(tmp_path: Path) -> None:
    dockerfile = 'FROM python:3.11-slim\nCMD ["sh", "-c", "echo start; python train.py --epochs 3"]\n'
    result = judge(tmp_path, {"kind": "dockerfile.exec-form"}, dockerfile)
    assert "line 2" in result.message and "starts sh -c" in result.message
    assert "PID 1" in result.message and "SIGTERM" in result.message
    assert '"...; exec python train.py --epochs 3"' in result.message
    split = judge(tmp_path / "split", {"kind": "dockerfile.exec-form"}, 'FROM busybox\nENTRYPOINT ["sh", "-c"]\nCMD ["python train.py"]\n')
    assert "line 2" in split.message and "line 3" in split.message, split.message


def test_unknown_kind_field_and_bad_regex_are_content_errors() -> None:
    for params, kind, expected in (
        ({}, "dockerfile.nope", "unknown check kind"),
        ({"imag": "x"}, "dockerfile.base", "unknown field"),
        ({"pinned": "yes"}, "dockerfile.base", "expected bool, got .yes."),
        ({"pattern": "("}, "dockerfile.forbid", "not a valid regular expression"),
        ({}, "cache", "required field is missing"),
    ):
        with pytest.raises(ContentError, match=expected) as info:
            compile_check(CheckSpec(kind=kind, id="x", params=params, where="ex.toml: checks[0]"))
        assert "ex.toml: checks[0]" in info.value.message


def test_a_path_the_folder_lacks_is_judged_by_the_dockerignore_patterns(tmp_path: Path) -> None:
    """The review's example: a .dockerignore without .git passed, because there was no .git to send."""
    check = {"kind": "context", "excluded": [".git", ".env"]}
    files = {"app.py": "print(1)"}
    missing = judge(tmp_path / "none", check, "FROM busybox\n", files)
    assert not missing.passed and ".git" in missing.message and "no .dockerignore" in missing.message
    without_git = judge(tmp_path / "no-git", check, "FROM busybox\n", {**files, ".dockerignore": ".env\ndata/\n"})
    assert not without_git.passed and "does not leave out .git" in without_git.message
    for patterns in (".git\n.env\n", "**/.git\n**/.env\n", ".g*\n.e*\n", "*\n!app.py\n"):
        folder = tmp_path / str(abs(hash(patterns)))
        assert judge(folder, check, "FROM busybox\n", {**files, ".dockerignore": patterns}).passed, patterns


def test_feedback_never_shows_a_regular_expression(tmp_path: Path) -> None:
    """Plain-text patterns are shown as text; others as what the check says it expects."""
    order = {"kind": "dockerfile.order", "first": "^COPY\\s+requirements\\.txt", "then": "^COPY (\\.|app\\.py)\\s",
             "expect": "a COPY of the code"}
    result = judge(tmp_path / "order", order, "FROM busybox\nCOPY . .\n")
    assert "no instruction matches “COPY requirements.txt”" in result.message, result.message
    instruction = {"kind": "dockerfile.instruction", "instruction": "USER", "matches": "^(app|1000)$", "title": "Runs as app"}
    result = judge(tmp_path / "user", instruction, "FROM busybox\nUSER root\n")
    assert "^(app|1000)$" not in result.message and "Runs as app" in result.message, result.message


def test_a_forbid_check_that_passes_says_what_it_read_not_its_pattern(tmp_path: Path) -> None:
    check = {"kind": "dockerfile.forbid", "instruction": "RUN", "pattern": "--no-cache-dir.*--mount", "title": "No --no-cache-dir"}
    result = judge(tmp_path / "two", check, "FROM busybox\nRUN echo a\nRUN echo b\n")
    assert result.passed and result.message == "read 2 RUN lines: none has it", result.message
    anywhere = {"kind": "dockerfile.forbid", "pattern": "sudo", "title": "No sudo"}
    result = judge(tmp_path / "any", anywhere, "FROM busybox\n")
    assert result.passed and result.message == "read 1 instruction: none has it", result.message
