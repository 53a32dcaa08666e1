"""Every classroom command that needs the engine says what to do when none answers, and exits 3."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.classroom.helpers import assert_clear_failure, run
from tutor import locations


@pytest.mark.parametrize(
    "args",
    [
        ["images"],
        ["images", "pull"],
        ["images", "save", "{tmp}/x.tar"],
        ["images", "load", "{tmp}/x.tar"],
        ["grade", "04-first-dockerfile", "{tmp}/class"],
        ["lint-content", "{tmp}/pack"],
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_no_engine_exits_3_with_what_to_do(args: list[str], tmp_path: Path) -> None:
    shutil.copytree(locations.content_root() / "exercises" / "04-first-dockerfile" / "solution", tmp_path / "class" / "alice")
    (tmp_path / "pack" / "lessons").mkdir(parents=True)
    (tmp_path / "pack" / "lessons" / "50-hello.md").write_text('+++\ntitle = "Hello"\n+++\n')
    (tmp_path / "x.tar").write_bytes(b"\0" * 1024)
    env = {"DOCKER_HOST": f"unix://{tmp_path}/absent.sock"}
    result = run(*[a.replace("{tmp}", str(tmp_path)) for a in args], env=env)
    assert_clear_failure(result, 3, "No Docker engine answers")
