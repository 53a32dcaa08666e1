"""The learner's editable copies of the exercises: created from the starters, never overwritten silently."""

from __future__ import annotations

import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from tutor.content.model import Exercise
from tutor.errors import UsageError


@dataclass(frozen=True, slots=True)
class Workspace:
    root: Path

    def folder(self, exercise: Exercise) -> Path:
        return self.root / exercise.id

    def ensure(self, exercise: Exercise) -> Path:
        """The exercise's folder, copied from the starter the first time only."""
        folder = self.folder(exercise)
        if not folder.exists():
            try:
                folder.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UsageError(
                    f"cannot make your copy of {exercise.id} in {folder.parent}: {exc.strerror or exc}",
                    hint="Choose a folder you can write: --workspace DIR (or DOCKER_TUTOR_WORKSPACE).",
                ) from exc
            # A copy of its own: two tutors opening the exercise at once (a TUI and a check, two
            # tabs) must not copy into, or remove, the same half-made folder.
            temp = folder.with_name(f".{folder.name}.new-{os.getpid()}-{secrets.token_hex(4)}")
            try:
                shutil.copytree(exercise.starter_dir, temp)
                temp.rename(folder)  # all or nothing: a half-copied starter is never seen
            except OSError as exc:
                if not folder.is_dir():  # not another tutor's copy that came first
                    raise UsageError(f"cannot make your copy of {exercise.id} in {folder}: {exc.strerror or exc}") from exc
            finally:
                shutil.rmtree(temp, ignore_errors=True)
        return folder

    def reset(self, exercise: Exercise) -> Path:
        """Put the starter back. Callers must have asked the learner first; the old copy is kept aside."""
        folder = self.folder(exercise)
        if folder.exists():
            # Every reset keeps its own copy: a second reset never loses the first one's.
            backup = folder.with_name(f".{folder.name}.before-reset-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**6}")
            folder.rename(backup)
        return self.ensure(exercise)
