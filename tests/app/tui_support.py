"""Names the TUI tests share; conftest.py holds the fixtures, this holds what tests import."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot

FIXTURE_CONTENT = Path(__file__).parent / "content"

Waiter = Callable[[Pilot[None], Callable[[], bool], float], Awaitable[None]]
