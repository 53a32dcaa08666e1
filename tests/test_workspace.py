"""The learner's copies: created once, never overwritten, and every reset keeps the old copy."""

from __future__ import annotations

import threading
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


def test_two_tutors_making_the_copy_at_once_both_get_the_whole_starter(tmp_path: Path, curriculum: Curriculum) -> None:
    """A TUI and a `check` (or two tabs) opening an exercise for the first time at the same moment."""
    exercise = curriculum.exercise("04-first-dockerfile")
    assert exercise is not None
    start, errors = threading.Barrier(8), []

    def make() -> None:
        start.wait()
        try:
            Workspace(tmp_path).ensure(exercise)
        except Exception as exc:  # noqa: BLE001 - what the test counts
            errors.append(exc)

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    folder = tmp_path / exercise.id
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in exercise.starter_dir.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == [exercise.id]  # no half copy left beside it
