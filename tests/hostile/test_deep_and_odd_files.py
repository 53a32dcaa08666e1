"""Odd but possible files (class 8 of the red-team issue): a clear refusal, never a traceback,
and nothing sent to the engine. Each case was a traceback (exit 70) before."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tutor.state_files import BrokenState, read_json

DEPTH = 3000


def check(folder: Path, data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tutor", "check", "04-first-dockerfile", "--dir", str(folder)],
        capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "DOCKER_TUTOR_DATA": str(data), "HOME": str(data)},
    )


@pytest.mark.parametrize(
    ("name", "dockerfile", "said"),
    [
        ("nested-default", "FROM python:3.11-slim\nENV X=" + "${a:-" * DEPTH + "x" + "}" * DEPTH + "\n", "line 2 nests brackets"),
        ("nested-exec-form", "FROM python:3.11-slim\nCMD " + "[" * DEPTH + "]" * DEPTH + "\n", "line 2 nests brackets"),
        ("a-folder", None, "Dockerfile is not a regular file"),
    ],
)
def test_a_dockerfile_no_parser_should_walk_is_refused_in_words(tmp_path: Path, name: str, dockerfile: str | None, said: str) -> None:
    folder = tmp_path / name
    folder.mkdir()
    if dockerfile is None:
        (folder / "Dockerfile").mkdir()
    else:
        (folder / "Dockerfile").write_text(dockerfile)
    result = check(folder, tmp_path / "data")
    assert result.returncode == 1, result.stdout + result.stderr
    assert said in result.stdout and "Traceback" not in result.stderr + result.stdout


def test_a_state_file_nested_thousands_deep_is_broken_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "progress.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(BrokenState, match="nests too deep"):
        read_json(tmp_path / "progress.json")
    (tmp_path / "verdict.json").mkdir()  # a folder where a file should be
    with pytest.raises(BrokenState, match="not a regular file"):
        read_json(tmp_path / "verdict.json")
