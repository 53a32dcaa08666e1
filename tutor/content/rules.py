"""House rules: a practice taught once (rules.toml at a content root), enforced by every later
exercise where it applies, with feedback that names the practice and the lesson that taught it."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any, Protocol

from tutor.content.model import CheckSpec, Exercise, Lesson, Mutant, Rule

RULE_FIELDS = {"id", "practice", "lesson", "why", "applies_when", "check", "mutant"}
WHEN_FIELDS = {"solution_matches", "has_check"}
MUTANT_FIELDS = {"file", "replace", "delete"}


class Problems(Protocol):
    def add(self, where: str, message: str) -> None: ...


def check_id(rule_id: str) -> str:
    """The id of a rule's check in every exercise that enforces it."""
    return f"rule-{rule_id}"


def load_rules(data: dict[str, Any], where: str, problems: Problems) -> list[Rule]:
    rules = []
    for index, raw in enumerate(data.get("rules", [])):
        at = f"{where}: rules[{index}]"
        if not isinstance(raw, dict):
            problems.add(at, "must be a table")
            continue
        rule = _rule(raw, at, problems)
        if rule is not None:
            rules.append(rule)
    for unknown in sorted(set(data) - {"rules"}):
        problems.add(f"{where}: {unknown}", "unknown field")
    return rules


def _rule(raw: dict[str, Any], at: str, problems: Problems) -> Rule | None:
    for unknown in sorted(set(raw) - RULE_FIELDS):
        problems.add(f"{at}.{unknown}", "unknown field")
    texts = {}
    for name in ("id", "practice", "lesson", "why"):
        value = raw.get(name)
        if not isinstance(value, str) or not value.strip():
            problems.add(f"{at}.{name}", "required, a non-empty string")
        texts[name] = value
    when = raw.get("applies_when", {})
    if not isinstance(when, dict):
        problems.add(f"{at}.applies_when", "must be a table")
        when = {}
    for unknown in sorted(set(when) - WHEN_FIELDS):
        problems.add(f"{at}.applies_when.{unknown}", "unknown field")
    matches = when.get("solution_matches", "")
    try:
        re.compile(matches)
    except (re.error, TypeError) as exc:
        problems.add(f"{at}.applies_when.solution_matches", f"not a valid regular expression: {exc}")
        matches = ""
    kinds = when.get("has_check", [])
    if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
        problems.add(f"{at}.applies_when.has_check", "must be a list of check kinds")
        kinds = []
    check = raw.get("check")
    if not isinstance(check, dict) or not isinstance(check.get("kind"), str):
        problems.add(f"{at}.check", "required, a table with a kind and the kind's fields")
        return None
    mutant = _mutant(raw.get("mutant"), f"{at}.mutant", problems)
    if not all(isinstance(v, str) and v.strip() for v in texts.values()):
        return None
    params = {k: v for k, v in check.items() if k not in ("kind", "id")}
    spec = CheckSpec(kind=check["kind"], id=check_id(texts["id"]), params=params, where=f"{at}.check", rule=texts["id"])
    return Rule(
        id=texts["id"],
        practice=texts["practice"],
        lesson=texts["lesson"],
        why=texts["why"].strip(),
        check=spec,
        solution_matches=matches,
        has_check=tuple(kinds),
        mutant=mutant,
        where=at,
    )


def _mutant(raw: Any, at: str, problems: Problems) -> Mutant | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.add(at, "must be a table")
        return None
    for unknown in sorted(set(raw) - MUTANT_FIELDS):
        problems.add(f"{at}.{unknown}", "unknown field")
    pairs = raw.get("replace", [])
    if not isinstance(pairs, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in pairs
    ):
        problems.add(f"{at}.replace", 'must be a list of ["regular expression", "replacement"] pairs')
        return None
    for pattern, _ in pairs:
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.add(f"{at}.replace", f"not a valid regular expression {pattern!r}: {exc}")
            return None
    delete = raw.get("delete", False)
    if not isinstance(delete, bool) or (not delete and not pairs):
        problems.add(at, "needs replace pairs, or delete = true")
        return None
    return Mutant(file=str(raw.get("file", "Dockerfile")), replace=tuple((p, r) for p, r in pairs), delete=delete)


def final_stage(dockerfile: str) -> str:
    """The text from the last FROM on: what ends up in the image."""
    starts = [m.start() for m in re.finditer(r"(?im)^\s*FROM\s", dockerfile)]
    return dockerfile[starts[-1] :] if starts else dockerfile


def applies(rule: Rule, exercise: Exercise) -> bool:
    """Taught in an earlier lesson, and the exercise does what the rule is about."""
    if exercise.lesson <= rule.lesson:
        return False
    if rule.has_check and not any(spec.kind in rule.has_check for spec in exercise.checks):
        return False
    if rule.solution_matches:
        if exercise.rules_from_solution is not None:  # a learner's copy: judged on the solution at release
            return rule.id in exercise.rules_from_solution
        try:
            text = (exercise.solution_dir / "Dockerfile").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return False
        return re.search(rule.solution_matches, final_stage(text), re.MULTILINE) is not None
    return True


def enforce(exercise: Exercise, rules: list[Rule], lessons: dict[str, Lesson], problems: Problems) -> Exercise:
    """The exercise with the checks of every rule that applies to it, each naming its practice and lesson."""
    skipped = dict(exercise.skipped_rules)
    known = {rule.id for rule in rules}
    for rule_id in skipped:
        if rule_id not in known:
            problems.add(f"{_where(exercise)}: skip_rules.{rule_id}", "no house rule has this id")
    applied = [rule for rule in rules if rule.id not in skipped and applies(rule, exercise)]
    added = []
    for rule in applied:
        lesson = lessons.get(rule.lesson)
        taught = f"lesson “{lesson.title}” ({rule.lesson})" if lesson else f"lesson {rule.lesson}"
        params = {
            "title": f"House rule: {rule.practice}",
            "hint": f"{rule.why} You learned this in {taught}; every exercise after it keeps to it.",
            "lesson": rule.lesson,
            **rule.check.params,
        }
        added.append(dataclasses.replace(rule.check, params=params))
    if not added:
        return exercise
    return dataclasses.replace(exercise, checks=exercise.checks + tuple(added), rules=tuple(applied))


def _where(exercise: Exercise) -> str:
    return f"exercises/{exercise.path.name}/exercise.toml"


def rules_path(root: Path) -> Path:
    return root / "rules.toml"
