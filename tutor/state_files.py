"""The tutor's own state files (progress, verdicts): read within limits, judged by shape, and a
broken one kept aside under a new name that a message gives, never lost and never a traceback."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

from tutor.engine.learner_files import LearnerFileRefused, read_learner_file

STATE_LIMIT = 16 * 2**20


class BrokenState(ValueError):
    """The file is there but cannot be used; the message says why."""


def read_json(path: Path) -> Any | None:
    """The parsed file, None when there is none; BrokenState when it is a link, huge, or not JSON."""
    try:
        data = read_learner_file(path.parent, path.name, STATE_LIMIT)
    except LearnerFileRefused as exc:
        if exc.missing:
            return None
        raise BrokenState(str(exc)) from exc
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BrokenState(f"it is not JSON ({exc})") from exc
    except RecursionError as exc:  # [[[[...]]]] thousands deep
        raise BrokenState("it nests too deep to be one of the tutor's files") from exc


def keep_aside(path: Path) -> Path | None:
    """Rename a broken file out of the way; the new name, or None if it could not be moved."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(100):
        aside = path.with_name(f"{path.name}.corrupt-{stamp}" + (f"-{attempt}" if attempt else ""))
        if aside.exists() or aside.is_symlink():
            continue
        with contextlib.suppress(OSError):
            path.rename(aside)
            return aside
        return None
    return None


def shape_problem(value: Any, shape: Any, where: str = "") -> str:
    """'' when `value` has `shape`, else what is wrong. A shape is a type, a tuple of types, a
    {key: shape} dict (listed keys optional, others free), ["each", shape] for every value of an
    object, or ["items", shape] for every item of a list."""
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return f"{where or 'the file'} is not an object"
        for key, inner in shape.items():
            if key in value:
                problem = shape_problem(value[key], inner, f"{where}.{key}" if where else key)
                if problem:
                    return problem
        return ""
    if isinstance(shape, list):
        wanted = dict if shape[0] == "each" else list
        if not isinstance(value, wanted):
            return f"{where} is not {'an object' if wanted is dict else 'a list'}"
        for item in value.values() if isinstance(value, dict) else value:
            problem = shape_problem(item, shape[1], f"{where}[]")
            if problem:
                return problem
        return ""
    if isinstance(value, bool) and shape in (int, float, (int, float)):
        return f"{where} is true/false, not a number"
    if not isinstance(value, shape):
        return f"{where} is {type(value).__name__}"
    return ""
