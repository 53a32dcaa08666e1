"""Images' file counts, kept across the tutor's processes in its cache folder: an image whose
layers were counted once (by any check, of any copy of the folder) is not counted again.

A count is kept under what decides it (the image's layer chain, volumes and working folder), not
under the image's id: the same layers under other labels, another learner's owner label say, hold
the same files. The file is written whole to a new name and renamed over the old one, so a reader
never sees half of it, and keeps the most recently counted MAX_KEPT images.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from tutor.state_files import BrokenState, read_json

MAX_KEPT = 2000  # about 100 KB
_FILE = "image-files.json"


def count_key(attrs: dict[str, Any], method: str) -> str:
    """What a count of the image with these attributes (the engine's inspect) depends on, with
    `method`, the way it was counted; its id where the engine gives no layer chain."""
    layers = (attrs.get("RootFS") or {}).get("Layers")
    if not isinstance(layers, list) or not layers:
        return f"id:{attrs['Id']}"
    config = attrs.get("Config") or {}
    # A container makes a missing volume or working folder: one more folder in the count.
    decides = [method, layers, sorted(config.get("Volumes") or {}), config.get("WorkingDir") or ""]
    return hashlib.sha256(json.dumps(decides).encode()).hexdigest()[:40]


class KeptCounts:
    """Counts by count_key, in `folder`. A file that cannot be read or written costs a count, never a
    wrong answer: what is read is only what this class wrote (a count per key), or it is ignored."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / _FILE

    def get(self, key: str) -> int | None:
        return self._read().get(key)

    def put(self, key: str, count: int) -> None:
        counts = self._read()
        counts.pop(key, None)
        counts[key] = count  # last: the most recently counted
        kept = dict(list(counts.items())[-MAX_KEPT:])
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".image-files-", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump({"counts": kept}, handle)
                os.replace(temp, self.path)
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(temp)

    def _read(self) -> dict[str, int]:
        try:
            data = read_json(self.path)
        except BrokenState:
            return {}  # rewritten whole by the next count
        counts = data.get("counts") if isinstance(data, dict) else None
        if not isinstance(counts, dict):
            return {}
        return {
            key: value for key, value in counts.items()
            if isinstance(key, str) and isinstance(value, int) and not isinstance(value, bool) and value >= 0
        }
