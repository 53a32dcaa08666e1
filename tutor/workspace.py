"""The learner's editable copies of the exercises: created from the starters, never overwritten silently."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from tutor.content.model import Exercise


@dataclass(frozen=True, slots=True)
class Workspace:
    root: Path

    def folder(self, exercise: Exercise) -> Path:
        return self.root / exercise.id

    def ensure(self, exercise: Exercise) -> Path:
        """The exercise's folder, copied from the starter the first time only."""
        folder = self.folder(exercise)
        if not folder.exists():
            folder.parent.mkdir(parents=True, exist_ok=True)
            temp = folder.with_name(f".{folder.name}.new")
            shutil.rmtree(temp, ignore_errors=True)
            shutil.copytree(exercise.starter_dir, temp)
            temp.rename(folder)  # all or nothing: a half-copied starter is never seen
        return folder

    def reset(self, exercise: Exercise) -> Path:
        """Put the starter back. Callers must have asked the learner first; the old copy is kept aside."""
        folder = self.folder(exercise)
        if folder.exists():
            # Every reset keeps its own copy: a second reset never loses the first one's.
            backup = folder.with_name(f".{folder.name}.before-reset-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**6}")
            folder.rename(backup)
        return self.ensure(exercise)
