"""Small text conventions shared by every screen: status marks, sizes, paths."""

from __future__ import annotations

import json
import re
from pathlib import Path

# An exec-form list as the classic builder prints it: ["python" "predict.py"], without commas.
_EXEC_FORM = re.compile(r'^(?P<keyword>[A-Za-z]+)\s+\[(?P<items>\s*"(?:[^"\\]|\\.)*"(?:\s*,?\s*"(?:[^"\\]|\\.)*")*\s*)\]\s*$')
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')

STATUS_MARKS = {"passed": "✔", "failed": "✘", "not started": "·"}
# $text-*: the theme's readable text colours ($success and $error are for fills and borders).
STATUS_STYLES = {"passed": "$text-success", "failed": "$text-error", "not started": "$text-muted"}


def status_mark(status: str) -> str:
    return STATUS_MARKS.get(status, "·")


def human_size(size: int) -> str:
    """Decimal units, as docker images prints them."""
    if size < 1000:
        return f"{size} B"
    value = size / 1000
    for unit in ("kB", "MB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def friendly_path(path: Path) -> str:
    """The path as the learner would type it: ~/... when it is under their home folder."""
    try:
        return "~/" + path.resolve().relative_to(Path.home().resolve()).as_posix()
    except ValueError:
        return str(path)


def instruction_text(instruction: str) -> str:
    """An instruction as the learner wrote it: exec-form lists with their commas back."""
    match = _EXEC_FORM.match(instruction.strip())
    if not match:
        return instruction
    items = [json.loads(f'"{item}"') for item in _QUOTED.findall(match["items"])]
    return f"{match['keyword']} {json.dumps(items)}"
