"""Load lessons/ and exercises/ into the model; every problem names its file and field."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from tutor.content.model import (
    BuildSettings,
    CheckSpec,
    Curriculum,
    Exercise,
    Lesson,
    QuizOption,
    QuizQuestion,
    Rule,
)
from tutor.content.rules import enforce, load_rules, rules_path
from tutor.errors import ContentError, Problem

RELEASED_MARK = "RELEASED.md"  # at a pack's root: a learner's copy, made by `pack release`
ID_PATTERN = re.compile(r"^\d{2}[a-z0-9-]*$")
FRONT_MATTER = re.compile(r"\A\+\+\+\n(.*?)\n\+\+\+\n?", re.DOTALL)

# container-structure-test sections, accepted as they are and mapped onto our check kinds.
STRUCTURE_TEST_SECTIONS = {
    "commandTests": "command",
    "fileExistenceTests": "file",
    "fileContentTests": "file",
    "metadataTest": "metadata",
}


class _Problems:
    """Collects every content problem so an author sees them all at once."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(Problem(where, message))

    def raise_if_any(self) -> None:
        if self.items:
            raise ContentError("content does not load:\n  " + "\n  ".join(map(str, self.items)), problems=self.items)


def load_curriculum(roots: list[Path]) -> Curriculum:
    """Load every root's lessons/ and exercises/; later roots add to earlier ones."""
    problems = _Problems()
    lessons: dict[str, Lesson] = {}
    exercises: dict[str, Exercise] = {}
    rules: dict[str, Rule] = {}
    for root in roots:
        if not root.is_dir():
            problems.add(str(root), "content folder not found")
            continue
        if rules_path(root).is_file():
            data = _read_toml(rules_path(root), problems)
            # A pack may add its own rules, or tighten a built-in one by reusing its id.
            rules.update((rule.id, rule) for rule in load_rules(data or {}, "rules.toml", problems))
        for path in sorted((root / "lessons").glob("*.md")):
            lesson = _load_lesson(path, problems)
            if lesson:
                lessons[lesson.id] = lesson
        for toml_path in sorted((root / "exercises").glob("*/exercise.toml")):
            exercise = _load_exercise(toml_path, problems)
            if exercise:
                exercises[exercise.id] = exercise
    for exercise in exercises.values():
        if exercise.lesson not in lessons:
            problems.add(_rel(exercise.path / "exercise.toml") + ": lesson", f"no lesson named {exercise.lesson!r}")
    for rule in rules.values():
        if rule.lesson not in lessons:
            problems.add(f"{rule.where}.lesson", f"no lesson named {rule.lesson!r}")
    enforced = [enforce(e, list(rules.values()), lessons, problems) for e in exercises.values()]
    problems.raise_if_any()
    return Curriculum(
        lessons=tuple(sorted(lessons.values(), key=lambda lesson: lesson.id)),
        exercises=tuple(sorted(enforced, key=lambda e: (e.lesson, e.id))),
        rules=tuple(rules.values()),
    )


def _rel(path: Path) -> str:
    parts = path.parts
    for anchor in ("exercises", "lessons"):
        if anchor in parts:
            return "/".join(parts[len(parts) - parts[::-1].index(anchor) - 1 :])
    return str(path)


def _read_toml(path: Path, problems: _Problems) -> dict[str, Any] | None:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        problems.add(_rel(path), f"not valid TOML: {exc}")
        return None


def _load_lesson(path: Path, problems: _Problems) -> Lesson | None:
    where = _rel(path)
    if not ID_PATTERN.match(path.stem):
        problems.add(where, "file name must be a slug with a two-digit prefix, e.g. 04-images.md")
        return None
    text = path.read_text(encoding="utf-8")
    match = FRONT_MATTER.match(text)
    if not match:
        problems.add(where, "missing +++ TOML front matter with a title")
        return None
    try:
        meta = tomllib.loads(match.group(1))
    except tomllib.TOMLDecodeError as exc:
        problems.add(where, f"front matter is not valid TOML: {exc}")
        return None
    title = _field(meta, "title", str, where, problems)
    quiz_path = path.with_suffix(".quiz.toml")
    quiz = _load_quiz(quiz_path, problems) if quiz_path.exists() else ()
    if title is None:
        return None
    return Lesson(id=path.stem, title=title, path=path, body=text[match.end() :], quiz=quiz)


def _load_quiz(path: Path, problems: _Problems) -> tuple[QuizQuestion, ...]:
    data = _read_toml(path, problems)
    if data is None:
        return ()
    questions = []
    for index, raw in enumerate(data.get("questions", [])):
        where = f"{_rel(path)}: questions[{index}]"
        options = []
        for opt_index, opt in enumerate(raw.get("options", [])):
            opt_where = f"{where}.options[{opt_index}]"
            text = _field(opt, "text", str, opt_where, problems)
            explanation = _field(opt, "explanation", str, opt_where, problems)
            if text is not None and explanation is not None:
                options.append(QuizOption(text, bool(opt.get("correct", False)), explanation))
        question = _field(raw, "question", str, where, problems)
        if sum(o.correct for o in options) != 1:
            problems.add(where, "exactly one option must have correct = true")
        if question is not None:
            questions.append(QuizQuestion(raw.get("id", f"q{index + 1}"), question, tuple(options)))
    if not questions:
        problems.add(_rel(path), "a quiz needs at least one [[questions]] entry")
    return tuple(questions)


def _field(table: dict[str, Any], name: str, kind: type, where: str, problems: _Problems) -> Any:
    if name not in table:
        problems.add(f"{where}: {name}", "required field is missing")
        return None
    value = table[name]
    if not isinstance(value, kind):
        problems.add(f"{where}: {name}", f"must be a {kind.__name__}, not {type(value).__name__}")
        return None
    return value


def _load_exercise(toml_path: Path, problems: _Problems) -> Exercise | None:
    folder = toml_path.parent
    where = _rel(toml_path)
    if not ID_PATTERN.match(folder.name):
        problems.add(where, "folder name must be a slug with a two-digit prefix, e.g. 04-first-dockerfile")
        return None
    data = _read_toml(toml_path, problems)
    if data is None:
        return None
    known = {
        "title",
        "lesson",
        "task",
        "hints",
        "checks",
        "build",
        "files",
        "skip_rules",
        "rules_from_solution",
        *STRUCTURE_TEST_SECTIONS,
    }
    for unknown in sorted(set(data) - known):
        problems.add(f"{where}: {unknown}", "unknown field")
    title = _field(data, "title", str, where, problems)
    lesson = _field(data, "lesson", str, where, problems)
    task = _field(data, "task", str, where, problems)
    hints = data.get("hints", [])
    if not isinstance(hints, list) or not all(isinstance(h, str) for h in hints):
        problems.add(f"{where}: hints", "must be a list of strings")
        hints = []
    files = data.get("files", ["Dockerfile"])
    # A learner's copy made by `pack release` has no solutions, by design.
    released = (folder.parent.parent / RELEASED_MARK).is_file()
    for sub in ("starter",) if released else ("starter", "solution"):
        if not (folder / sub).is_dir():
            problems.add(f"{where}", f"missing folder {sub}/")
        else:
            for name in files:
                if not (folder / sub / name).is_file():
                    problems.add(f"{where}: files", f"{sub}/{name} does not exist")
    build = _load_build(data.get("build", {}), f"{where}: build", problems)
    skipped = data.get("skip_rules", {})
    if not isinstance(skipped, dict) or not all(isinstance(v, str) and v.strip() for v in skipped.values()):
        problems.add(f"{where}: skip_rules", "must be a table of rule id = the reason it does not apply here")
        skipped = {}
    from_solution = data.get("rules_from_solution")
    if from_solution is not None and (not isinstance(from_solution, list) or not all(isinstance(r, str) for r in from_solution)):
        problems.add(f"{where}: rules_from_solution", "must be a list of house rule ids")
        from_solution = None
    checks = _load_checks(data, where, problems)
    if not checks:
        problems.add(f"{where}: checks", "an exercise needs at least one check")
    elif all(check.hidden for check in checks):
        problems.add(f"{where}: checks", "every check is hidden; a learner needs at least one check to run")
    if None in (title, lesson, task):
        return None
    return Exercise(
        id=folder.name,
        title=title,
        lesson=lesson,
        path=folder,
        task=task,
        hints=tuple(hints),
        checks=tuple(checks),
        build=build,
        files=tuple(files),
        skipped_rules=tuple(skipped.items()),
        rules_from_solution=None if from_solution is None else tuple(from_solution),
    )


def _load_build(raw: Any, where: str, problems: _Problems) -> BuildSettings:
    if not isinstance(raw, dict):
        problems.add(where, "must be a table")
        return BuildSettings()
    defaults = BuildSettings()
    for unknown in sorted(set(raw) - {"timeout", "network", "memory_mb", "buildkit"}):
        problems.add(f"{where}.{unknown}", "unknown field")
    timeout = raw.get("timeout", defaults.timeout)
    network = raw.get("network", defaults.network)
    memory = raw.get("memory_mb", defaults.memory_mb)
    if not isinstance(timeout, (int, float)) or timeout <= 0:
        problems.add(f"{where}.timeout", "must be a positive number of seconds")
        timeout = defaults.timeout
    if not isinstance(network, bool):
        problems.add(f"{where}.network", "must be true or false")
        network = defaults.network
    buildkit = raw.get("buildkit", defaults.buildkit)
    if not isinstance(buildkit, bool):
        problems.add(f"{where}.buildkit", "must be true or false")
        buildkit = defaults.buildkit
    if not isinstance(memory, int) or memory < 64:
        problems.add(f"{where}.memory_mb", "must be a whole number of MB, at least 64")
        memory = defaults.memory_mb
    return BuildSettings(timeout=float(timeout), network=network, memory_mb=memory, buildkit=buildkit)


def _load_checks(data: dict[str, Any], where: str, problems: _Problems) -> list[CheckSpec]:
    raw_checks: list[tuple[str, dict[str, Any]]] = []
    for index, raw in enumerate(data.get("checks", [])):
        raw_checks.append((f"{where}: checks[{index}]", raw))
    for section, kind in STRUCTURE_TEST_SECTIONS.items():
        entries = data.get(section, [])
        entries = [entries] if isinstance(entries, dict) else entries
        for index, raw in enumerate(entries):
            if isinstance(raw, dict):
                raw = {"kind": kind, **raw}
            raw_checks.append((f"{where}: {section}[{index}]", raw))

    specs: list[CheckSpec] = []
    seen: set[str] = set()
    for check_where, raw in raw_checks:
        if not isinstance(raw, dict):
            problems.add(check_where, "must be a table")
            continue
        kind = raw.get("kind")
        if not isinstance(kind, str):
            problems.add(f"{check_where}.kind", "required field is missing")
            continue
        params = {k: v for k, v in raw.items() if k not in ("kind", "id", "name", "points", "hidden")}
        points, hidden = raw.get("points", 1), raw.get("hidden", False)
        if not isinstance(points, int) or isinstance(points, bool) or not 0 <= points <= 1000:
            problems.add(f"{check_where}.points", "must be a whole number from 0 to 1000")
            points = 1
        if not isinstance(hidden, bool):
            problems.add(f"{check_where}.hidden", "must be true or false")
            hidden = False
        check_id = raw.get("id") or _slug(raw.get("name", "")) or f"{kind.replace('.', '-')}-{len(specs) + 1}"
        if check_id in seen:
            problems.add(f"{check_where}.id", f"duplicate check id {check_id!r}")
        seen.add(check_id)
        if "name" in raw and "title" not in params:
            params["title"] = raw["name"]  # container-structure-test calls the title "name"
        specs.append(CheckSpec(kind=kind, id=check_id, params=params, where=check_where, points=points, hidden=hidden))
    return specs


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
