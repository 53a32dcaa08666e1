"""The learner's copies: created once, never overwritten, and every reset keeps the old copy."""

from __future__ import annotations

from pathlib import Path

from tutor.content.model import Curriculum
from tutor.workspace import Workspace


def test_ensure_never_overwrites_and_resets_keep_every_old_copy(tmp_path: Path, curriculum: Curriculum) -> None:
    exercise = curriculum.exercise("04-first-dockerfile")
    assert exercise is not None
    workspace = Workspace(tmp_path)
    folder = workspace.ensure(exercise)
    (folder / "Dockerfile").write_text("FROM mine\n")
    assert (workspace.ensure(exercise) / "Dockerfile").read_text() == "FROM mine\n"
    workspace.reset(exercise)
    (folder / "Dockerfile").write_text("FROM second\n")
    workspace.reset(exercise)
    kept = sorted(p.joinpath("Dockerfile").read_text() for p in tmp_path.glob(".04-first-dockerfile.before-reset-*"))
    assert kept == ["FROM mine\n", "FROM second\n"]
    assert (folder / "Dockerfile").read_text() == (exercise.starter_dir / "Dockerfile").read_text()
