"""Remember what the last check of a folder proved, so an unchanged folder is not built again.

The fingerprint covers every file the build would send (after .dockerignore), the exercise's
declared checks and build settings, the base images' ids and the tutor's version: if none of
them changed, the image the last check built is still right, and a passed verdict still holds.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutor import __version__
from tutor.content.model import Exercise
from tutor.engine.context import summarize
from tutor.engine.report import Report
from tutor.state_files import BrokenState, keep_aside, read_json, shape_problem


def fingerprint(exercise: Exercise, directory: Path, base_ids: list[str], builder: str) -> str:
    """What a verdict depends on: the tutor, the exercise, the base images, the builder (a
    Dockerfile may build under one and not the other) and every file sent to the engine."""
    digest = hashlib.sha256()
    digest.update(json.dumps([__version__, exercise.id, repr(exercise.checks), repr(exercise.build), base_ids, builder]).encode())
    root = directory.resolve()
    for relative in sorted(summarize(root).included):
        path = root / relative
        if path.is_file() and not path.is_symlink():
            digest.update(b"\0" + os.fsencode(relative) + f"\0{path.stat().st_mode & 0o777}\0".encode())
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        elif path.is_symlink():
            digest.update(b"\0" + os.fsencode(relative) + b"->" + os.fsencode(os.readlink(path)))
    return digest.hexdigest()


_SHAPE = {"tag": str, "fingerprint": str, "image_id": str, "report": (dict, type(None))}


@dataclass(frozen=True, slots=True)
class Remembered:
    fingerprint: str
    image_id: str
    report: dict[str, Any] | None  # kept only when every check passed


class VerdictStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.warnings: list[str] = []

    def _path(self, tag: str) -> Path:
        return self.folder / (hashlib.sha256(tag.encode()).hexdigest()[:24] + ".json")

    def recall(self, tag: str) -> Remembered | None:
        data = self._read(self._path(tag))
        return Remembered(data["fingerprint"], data["image_id"], data.get("report")) if data else None

    def _read(self, path: Path) -> dict[str, Any] | None:
        """A verdict file, checked by shape; a broken one is kept aside and named in `warnings`."""
        try:
            data = read_json(path)
            if data is None:
                return None
            problem = shape_problem(data, _SHAPE) or next(
                (f"{key} is missing" for key in ("tag", "fingerprint", "image_id") if key not in data), ""
            )
            if not problem and data.get("report") is not None:
                try:
                    Report.from_dict(data["report"])
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    problem = f"its report does not read ({type(exc).__name__})"
            if not problem:
                return data
        except BrokenState as exc:
            problem = str(exc)
        aside = keep_aside(path)
        self.warnings.append(
            f"the remembered verdict {path} could not be used ({problem}); "
            + (f"it was kept as {aside} and the folder is built again" if aside else "the folder is built again")
        )
        return None

    def remember(self, tag: str, print_: str, image_id: str, report: Report | None) -> None:
        """`report` None: the image is built and is this folder's cache, but no verdict holds yet."""
        data = {"tag": tag, "fingerprint": print_, "image_id": image_id, "report": report.to_dict() if report and report.passed else None}
        with contextlib.suppress(OSError):
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle)
            os.replace(temp, self._path(tag))

    def touch(self, tag: str) -> None:
        """Count the folder as checked now (older_tags keeps the most recently checked)."""
        with contextlib.suppress(OSError):
            os.utime(self._path(tag))

    def forget(self, tag: str) -> None:
        with contextlib.suppress(OSError):
            self._path(tag).unlink()

    def older_tags(self, prefix: str, keep: int, *, current: str) -> list[str]:
        """Tags starting with `prefix`, other than `current`, beyond the `keep` most recently checked.

        Only folders checked with this store count: on a shared engine (a classroom server, say),
        one learner's tutor never untags another's images."""
        checked = []
        for path in self.folder.glob("*.json"):
            data = self._read(path)
            if data and data["tag"].startswith(prefix) and data["tag"] != current:
                with contextlib.suppress(OSError):
                    checked.append((path.stat().st_mtime_ns, data["tag"]))
        return [tag for _, tag in sorted(checked, reverse=True)[keep:]]
