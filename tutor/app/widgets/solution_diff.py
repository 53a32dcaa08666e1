"""The reference solution as a unified diff against the learner's files."""

from __future__ import annotations

import difflib
from pathlib import Path

from rich.syntax import Syntax
from textual.widgets import Static

from tutor.content.model import Exercise


def solution_diff(exercise: Exercise, folder: Path) -> str:
    """What would turn the learner's files into the reference solution; empty when they match."""
    chunks: list[str] = []
    for name in exercise.files:
        mine = folder / name
        theirs = exercise.solution_dir / name
        ours = mine.read_text(encoding="utf-8").splitlines(keepends=True) if mine.is_file() else []
        chunks.extend(
            difflib.unified_diff(
                ours, theirs.read_text(encoding="utf-8").splitlines(keepends=True), f"your {name}", f"solution {name}"
            )
        )
    return "".join(line if line.endswith("\n") else line + "\n" for line in chunks)


class SolutionDiff(Static):
    diff = ""  # the diff on display, empty when there is none

    def show(self, exercise: Exercise, folder: Path, attempts: int) -> None:
        if attempts < 1:
            self.diff = ""
            self.update("The reference solution opens after your first check. Try it yourself first: hints (h) help.")
            return
        if not exercise.solution_dir.is_dir():
            self.diff = ""
            self.update("This pack ships without solutions: your instructor grades it.")
            return
        diff = self.diff = solution_diff(exercise, folder)
        if not diff:
            self.update("Your files match the reference solution.")
            return
        self.update(Syntax(diff, "diff", theme="ansi_dark", background_color="default", word_wrap=True))
