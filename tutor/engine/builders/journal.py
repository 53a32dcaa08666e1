"""A note on disk of each classic build in progress, so that what a killed tutor left is removed.

The classic builder commits an unlabelled image per step. A tutor that dies mid-build (kill -9,
power loss) cannot remove them, and no label finds them; the note names the newest image of the
build, and the next tutor on this machine removes the images that grew from it (and the volumes of
its steps that the tutor was holding to measure: step_watch.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

from tutor.state_files import BrokenState, keep_aside, read_json, shape_problem


def _folder() -> Path:
    # Per machine, not per learner: the next tutor to start on this machine sweeps, whoever runs it.
    return Path(tempfile.gettempdir()) / "docker-tutor-builds"


class BuildJournal:
    def __init__(self, engine: str, owner: str, space: str) -> None:
        self.path = _folder() / f"{owner}-{uuid.uuid4().hex[:8]}.json"
        self.engine = engine
        self.owner = owner  # the session id: "<pid>-<random>"
        self.space = space  # where that pid means something (host and pid namespace)
        self._written = ""

    def note(self, last_layer: str, created: list[str], running: str, since: float, volumes: list[str]) -> None:
        """Record the newest image of the build, the step under way and the step volumes the tutor
        holds (cheap when unchanged)."""
        state = f"{last_layer} {running} {volumes}"
        if not last_layer or state == self._written:
            return
        record = {
            "engine": self.engine, "owner": self.owner, "space": self.space,
            "last": last_layer, "created": created[-50:], "running": running, "since": since, "volumes": volumes[-50:],
        }
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_suffix(".tmp")
            partial.write_text(json.dumps(record))
            os.replace(partial, self.path)
            self._written = state

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()


# What note() writes; a note of any other shape is no build of the tutor's.
_SHAPE = {"engine": str, "owner": str, "space": str, "last": str, "created": ["items", str], "running": str,
          "since": (int, float), "volumes": ["items", str]}


def dead_builds(engine: str, space: str, alive: Any) -> list[tuple[Path, dict[str, Any]]]:
    """Notes of builds on this engine whose tutor, in this process space, is gone. The folder is
    the machine's: a note that is not one (a link, a folder, not JSON, another shape) is never
    followed; it is kept aside, so no sweep reads it again."""
    found = []
    for path in sorted(_folder().glob("*.json")) if _folder().is_dir() else []:
        try:
            record = read_json(path)
        except BrokenState:
            record = None
        if record is None or shape_problem(record, _SHAPE) or not {"engine", "owner", "space", "last"} <= set(record):
            if path.is_symlink() or path.exists():
                keep_aside(path)
            continue
        pid = record["owner"].split("-")[0]
        if record.get("engine") == engine and record.get("space") == space and pid.isdigit() and not alive(int(pid)):
            found.append((path, record))
    return found
