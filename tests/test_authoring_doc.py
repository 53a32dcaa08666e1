"""docs/authoring.md cannot drift: its check reference is regenerated from the code and compared,
every TOML example compiles, and the example pack it walks through lints clean."""

from __future__ import annotations

import dataclasses
import re
import shutil
import tomllib
from pathlib import Path

import pytest

from tutor.classroom import authoring
from tutor.classroom.lint_content import lint_grading, lint_static
from tutor.content.loader import STRUCTURE_TEST_SECTIONS
from tutor.content.model import CheckSpec
from tutor.engine.checks import KINDS, Check, compile_check
from tutor.engine.grader import Grading, grade

TEXT = authoring.DOC.read_text(encoding="utf-8")
BLOCK = re.compile(r'^```(\w+)(?: title="([^"]+)")?\n(.*?)^```$', re.MULTILINE | re.DOTALL)
BLOCKS = BLOCK.findall(TEXT)


def test_the_check_reference_is_what_the_code_generates() -> None:
    assert authoring.generated_part(TEXT) == authoring.render(), "run: python -m tutor.classroom.authoring"


def test_every_kind_has_a_section_naming_each_of_its_fields() -> None:
    sections = re.split(r"^### ", authoring.generated_part(TEXT), flags=re.MULTILINE)
    by_kind = {s.split("\n", 1)[0].strip("`"): s for s in sections}
    for kind, cls in KINDS.items():
        assert kind in by_kind, kind
        for field in dataclasses.fields(cls):
            if field.name not in {f.name for f in dataclasses.fields(Check)}:  # in "Fields every check has"
                assert f"| `{field.name}` |" in by_kind[kind], (kind, field.name)


def _checks(data: dict) -> list[CheckSpec]:
    raws = [(f"checks[{i}]", raw) for i, raw in enumerate(data.get("checks", []))]
    for section, kind in STRUCTURE_TEST_SECTIONS.items():
        entries = data.get(section, [])
        raws += [(f"{section}[{i}]", {"kind": kind, **raw}) for i, raw in enumerate([entries] if isinstance(entries, dict) else entries)]
    return [
        CheckSpec(raw["kind"], raw.get("id", where), {k: v for k, v in raw.items() if k not in ("kind", "id", "name")}, where)
        for where, raw in raws
    ]


def test_every_toml_example_parses_and_its_checks_compile() -> None:
    kinds_shown = set()
    for language, _title, body in BLOCKS:
        if language != "toml":
            continue
        data = tomllib.loads(body)
        for spec in _checks(data):
            compile_check(spec)
            kinds_shown.add(spec.kind)
    assert kinds_shown >= set(KINDS)


def _example_pack(root: Path) -> Path:
    for _, title, body in BLOCKS:
        if title:
            (root / title).parent.mkdir(parents=True, exist_ok=True)
            (root / title).write_text(body, encoding="utf-8")
    return root


def test_the_example_pack_lints_clean(tmp_path: Path) -> None:
    curriculum, findings = lint_static(_example_pack(tmp_path))
    assert findings == [] and curriculum is not None
    assert [e.id for e in curriculum.exercises] == ["50-say-hello"] and curriculum.lessons[0].quiz


@pytest.mark.docker
def test_the_example_solution_passes_and_its_starter_fails(tmp_path: Path, host) -> None:
    curriculum, _ = lint_static(_example_pack(tmp_path / "pack"))
    assert lint_grading(list(curriculum.exercises), lambda: host, variants=True) == []  # its alternative passes too
    exercise = curriculum.exercises[0]
    for mistake in tomllib.loads((exercise.path / "mistakes.toml").read_text())["mistakes"]:
        attempt = tmp_path / mistake["name"]
        shutil.copytree(exercise.solution_dir, attempt)
        for name, content in mistake["files"].items():
            (attempt / name).write_text(content)
        report = grade(exercise, attempt, lambda: host, grading=Grading(keep_image=False))
        failing = {c.id: c.message for c in report.checks if not c.passed and not c.skipped}
        assert set(mistake["fails"]) <= set(failing), (mistake["name"], failing)
        assert re.search(mistake["message"], "\n".join(failing[c] for c in mistake["fails"]), re.IGNORECASE)
