"""What the learner has done, kept in one JSON file that is written atomically under a lock.

Two tutor processes may run at once (a TUI and a CLI check): every change is a locked
read-modify-write, so neither loses the other's update. A corrupt file is kept aside, not reset.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tutor.engine.report import Report
from tutor.errors import TutorError
from tutor.state_files import BrokenState, keep_aside, read_json, shape_problem

Data = dict[str, Any]


class ProgressNotSaved(TutorError):
    """The grade stands; only remembering it failed."""
VERSION = 1
# Active time on an exercise is the sum of the gaps between the learner's actions on it (opening
# it, a check, a hint), each counted up to IDLE_CAP: a longer gap is a break, not work. The TUI,
# the CLI and the browser record the same actions, so the figure means the same everywhere.
IDLE_CAP = 600.0


_NUMBER = (int, float)
# What load() accepts; anything else is kept aside, not half-used.
_SHAPE = {
    "version": int,
    "exercises": ["each", {"attempts": int, "status": str, "last_attempt": _NUMBER, "first_attempt": _NUMBER,
                           "passed_at": _NUMBER, "failing_checks": ["items", str], "hints_shown": int}],
    "lessons": ["each", {"read_at": _NUMBER}],
    "quizzes": ["each", ["each", {"attempts": int, "correct": bool}]],
    "last": (dict, str, type(None)),  # older files kept an exercise id here
    "settings": ["each", str],
    "learner": str,
}


def _empty() -> Data:
    return {"version": VERSION, "exercises": {}, "lessons": {}, "quizzes": {}, "last": None, "settings": {}}


class Progress:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.warnings: list[str] = []

    def load(self) -> Data:
        try:
            data = read_json(self.path)
        except BrokenState as exc:
            return self._set_aside(str(exc))
        if data is None:
            return _empty()
        problem = shape_problem(data, _SHAPE) or ("" if data.get("version") == VERSION else "its version is not 1")
        if problem:
            return self._set_aside(problem)
        return {**_empty(), **data}

    def _set_aside(self, why: str) -> Data:
        aside = keep_aside(self.path)
        kept = f"it was kept as {aside}" if aside else "it could not be moved aside and is left as it is"
        self.warnings.append(f"progress file {self.path} could not be used ({why}); {kept} and progress starts afresh")
        return _empty()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def update(self, change: Callable[[Data], None]) -> Data:
        try:
            with self._locked():
                data = self.load()
                change(data)
                self._write(data)
                return data
        except OSError as exc:  # a full disk or a read-only home: the old file is still whole
            raise ProgressNotSaved(f"progress could not be saved to {self.path}: {exc.strerror or exc}") from exc

    def _write(self, data: Data) -> None:
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".progress-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise

    # --- the events worth keeping --------------------------------------------------------------
    def record_opened(self, exercise_id: str) -> Data:
        def change(data: Data) -> None:
            entry = data["exercises"].setdefault(exercise_id, {"attempts": 0, "status": "not started"})
            _active(entry, time.time())
            entry.setdefault("opened_at", entry["last_active"])

        return self.update(change)

    def record_report(self, report: Report) -> Data:
        def change(data: Data) -> None:
            entry = data["exercises"].setdefault(report.exercise_id, {"attempts": 0, "status": "not started"})
            _active(entry, time.time())
            if not report.build.reused or not entry["attempts"]:
                entry["attempts"] += 1  # checking unchanged files again is not another attempt
            entry["last_attempt"] = time.time()
            entry.setdefault("first_attempt", entry["last_attempt"])
            if report.passed:
                entry["status"] = "passed"
                entry.setdefault("passed_at", entry["last_attempt"])
            elif entry["status"] != "passed":
                entry["status"] = "failed"
            entry["failing_checks"] = [c.id for c in report.failed_checks] + ([] if report.build.ok else ["build"])
            data["last"] = {"exercise": report.exercise_id}

        return self.update(change)

    def record_lesson(self, lesson_id: str) -> Data:
        def change(data: Data) -> None:
            data["lessons"][lesson_id] = {"read_at": time.time()}
            data["last"] = {"lesson": lesson_id}

        return self.update(change)

    def record_quiz(self, lesson_id: str, question_id: str, correct: bool) -> Data:
        def change(data: Data) -> None:
            answers = data["quizzes"].setdefault(lesson_id, {})
            answer = answers.setdefault(question_id, {"attempts": 0, "correct": False})
            answer["attempts"] += 1
            answer["correct"] = answer["correct"] or correct

        return self.update(change)

    def record_hints(self, exercise_id: str, shown: int) -> Data:
        def change(data: Data) -> None:
            entry = data["exercises"].setdefault(exercise_id, {"attempts": 0, "status": "not started"})
            _active(entry, time.time())
            entry["hints_shown"] = max(entry.get("hints_shown", 0), shown)

        return self.update(change)

    def learner_id(self) -> str:
        """A random id made once per learner and kept: it seeds the order of quiz options."""
        data = self.load()
        if isinstance(data.get("learner"), str) and data["learner"]:
            return data["learner"]

        def change(data: Data) -> None:
            data.setdefault("learner", secrets.token_hex(8))

        try:
            saved = self.update(change).get("learner")
        except ProgressNotSaved:
            saved = None
        return str(saved or "anonymous")  # unsaved: options still shuffle, only not the same way next time

    def hints_shown(self, exercise_id: str) -> int:
        return int(self.load()["exercises"].get(exercise_id, {}).get("hints_shown", 0))

    def record_setting(self, name: str, value: str) -> Data:
        def change(data: Data) -> None:
            data["settings"][name] = value

        return self.update(change)

    def reset(self, exercise_id: str | None = None) -> Data:
        def change(data: Data) -> None:
            if exercise_id is None:
                data.clear()
                data.update(_empty())
            else:
                data["exercises"].pop(exercise_id, None)

        return self.update(change)

    def status(self, exercise_id: str) -> str:
        return self.load()["exercises"].get(exercise_id, {}).get("status", "not started")


def _active(entry: Data, now: float) -> None:
    last = entry.get("last_active")
    if isinstance(last, (int, float)) and not isinstance(last, bool) and now >= last:
        entry["active_seconds"] = round(float(entry.get("active_seconds") or 0.0) + min(now - last, IDLE_CAP), 1)
    entry["last_active"] = now
