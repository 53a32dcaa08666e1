"""`pack release`: a learner's copy of a content pack, for an assessment.

Solutions (and correct alternatives and typical mistakes, which give answers away) are left out,
and hidden checks are cut from each exercise.toml, so nothing on a learner's disk tells them
what the instructor's `grade` will test. The cut is made in the text, so the author's comments
and layout stay; the result is parsed again and must equal the original minus what was removed.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutor import locations
from tutor.classroom.lint_content import lint_static
from tutor.content.loader import RELEASED_MARK, STRUCTURE_TEST_SECTIONS
from tutor.content.model import Exercise, Rule
from tutor.content.rules import applies
from tutor.errors import ContentError, UsageError

LEFT_OUT = ("solution", "solutions", "alternatives", "alternatives.toml", "mistakes.toml")
# Only what the loader reads goes out: a pack kept in version control (or beside the tutor's own
# code) has its history and other files beside it, and a repository's history holds every solution.
PACK_PARTS = ("lessons", "exercises", "rules.toml")
VERSION_CONTROL = {".git", ".hg", ".svn"}
HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_\-.]+)\s*\]\]?\s*(#.*)?$")


@dataclass(frozen=True, slots=True)
class Released:
    exercises: int
    hidden_checks: int
    left_out: list[str]  # paths relative to the pack, e.g. "exercises/04-x/solution"


def release(pack: Path, out: Path, under: list[Path] | None = None) -> Released:
    """under: the content the pack is graded on top of (default: the built-in curriculum)."""
    # Loaded as `grade` loads it: the rules in force (the built-in ones and the pack's) come with it.
    curriculum, findings = lint_static(pack, under=[locations.content_root()] if under is None else under)
    if curriculum is None or findings:
        raise ContentError(
            f"{pack} does not lint, so it is not released:\n  " + "\n  ".join(map(str, findings)),
            hint=f"See: docker-tutor lint-content {pack}",
        )
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} exists and is not an empty folder", hint="Give a new folder for the learner's copy.")
    if out.resolve().is_relative_to(pack.resolve()):
        raise UsageError(f"{out} is inside the pack {pack}", hint="Write the learner's copy outside the pack.")
    left_out: list[str] = []

    def ignore(folder: str, names: list[str]) -> set[str]:
        here = Path(folder)
        dropped = {name for name in names if name in VERSION_CONTROL}
        if here.parent.name == "exercises" and (here / "exercise.toml").is_file():
            dropped |= {name for name in names if name in LEFT_OUT}
        left_out.extend((here / name).relative_to(pack).as_posix() for name in sorted(dropped))
        return dropped

    out.mkdir(parents=True, exist_ok=True)
    for part in PACK_PARTS:
        source = pack / part
        if source.is_dir():
            shutil.copytree(source, out / part, ignore=ignore, symlinks=True)
        elif source.is_file():
            shutil.copy2(source, out / part)
    left_out.extend(sorted(entry.name for entry in pack.iterdir() if entry.name not in PACK_PARTS))
    hidden = 0
    for exercise in curriculum.exercises:
        path = out / exercise.path.relative_to(pack) / "exercise.toml"
        text, cut = path.read_text(encoding="utf-8"), 0
        if any(spec.hidden for spec in exercise.checks):
            text, cut = _cut_hidden(text, path.name)
        # The rules judged on the solution now, since the learner's copy has none to judge them on.
        path.write_text(_rules_from_solution(exercise, curriculum.rules) + text, encoding="utf-8")
        hidden += cut
    (out / RELEASED_MARK).write_text(
        "# A learner's copy\n\nMade by `docker-tutor pack release`: the solutions and the instructor's hidden checks "
        "are not in it. Open it with `docker-tutor --content THIS_FOLDER`.\n",
        encoding="utf-8",
    )
    return Released(len(curriculum.exercises), hidden, left_out)


def _rules_from_solution(exercise: Exercise, rules: tuple[Rule, ...]) -> str:
    met = [rule.id for rule in rules if rule.solution_matches and applies(rule, exercise)]
    return f"rules_from_solution = {json.dumps(met)}  # house rules this exercise's solution calls for\n"


def _cut_hidden(text: str, name: str) -> tuple[str, int]:
    """The exercise.toml's text without its hidden checks, and how many were cut."""
    data = tomllib.loads(text)
    blocks = _blocks(text)
    keep: list[str] = []
    cut = 0
    counters: dict[str, int] = {}
    owner_hidden = False  # the sub-tables of a cut check go with it
    for header, name, lines in blocks:
        if header == "[[" and name in _ARRAYS:
            index = counters.get(name, 0)
            counters[name] = index + 1
            owner_hidden = _is_hidden(data[name][index])
            cut += owner_hidden
        elif header == "[" and name in _ARRAYS and isinstance(data.get(name), dict):
            owner_hidden = _is_hidden(data[name])  # metadataTest written as one table
            cut += owner_hidden
        elif header and not (name.split(".")[0] in _ARRAYS and "." in name):
            owner_hidden = False
        if not owner_hidden or header is None:
            keep.extend(lines)
    expected = _without_hidden(data)
    result = "".join(keep)
    try:
        same = tomllib.loads(result) == expected
    except tomllib.TOMLDecodeError:
        same = False
    if not same:
        raise ContentError(
            f"{name}: its hidden checks could not be cut out cleanly",
            hint="Write each check as its own [[checks]] table (not inline), then release again.",
        )
    return result, cut


_ARRAYS = {"checks", *STRUCTURE_TEST_SECTIONS}


def _is_hidden(entry: Any) -> bool:
    return isinstance(entry, dict) and entry.get("hidden") is True


def _without_hidden(data: dict[str, Any]) -> dict[str, Any]:
    result = dict(data)
    for name in _ARRAYS & data.keys():
        value = data[name]
        if isinstance(value, list):
            result[name] = [entry for entry in value if not _is_hidden(entry)]
            if not result[name]:
                del result[name]
        elif _is_hidden(value):
            del result[name]
    return result


def _blocks(text: str) -> list[tuple[str | None, str, list[str]]]:
    """(header kind '[' or '[[' or None for the top, table name, its lines), outside multi-line strings."""
    blocks: list[tuple[str | None, str, list[str]]] = [(None, "", [])]
    in_string: str | None = None
    for line in text.splitlines(keepends=True):
        match = HEADER.match(line) if in_string is None else None
        if match:
            blocks.append((match.group(1), match.group(2), [line]))
        else:
            blocks[-1][2].append(line)
        for quote in ('"""', "'''"):
            if in_string in (None, quote) and line.count(quote) % 2 == 1:
                in_string = None if in_string == quote else quote
    return blocks
