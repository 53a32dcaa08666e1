"""The pull display, fed the updates the engine streams (a real pull needs a registry)."""

from __future__ import annotations

from tutor.classroom.images import PullProgress, progress_line


def test_pull_progress_shows_each_layer_status_and_tenths_of_a_download() -> None:
    seen: dict = {}
    updates = [
        PullProgress("python:3.11-slim", "", "Pulling from library/python"),
        PullProgress("python:3.11-slim", "a1", "Pulling fs layer"),
        PullProgress("python:3.11-slim", "a1", "Downloading", 1_000_000, 10_000_000),
        PullProgress("python:3.11-slim", "a1", "Downloading", 1_500_000, 10_000_000),  # same tenth: no line
        PullProgress("python:3.11-slim", "a1", "Downloading", 5_000_000, 10_000_000),
        PullProgress("python:3.11-slim", "a1", "Pull complete"),
    ]
    lines = [line for line in (progress_line(u, seen) for u in updates) if line]
    assert lines == [
        "  Pulling from library/python",
        "  a1: Pulling fs layer",
        "  a1: Downloading [##..................] 1.0/10.0 MB",
        "  a1: Downloading [##########..........] 5.0/10.0 MB",
        "  a1: Pull complete",
    ]
