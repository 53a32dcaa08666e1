"""One grading path: every front end grades a folder through grader.grade, and only
folder_images.py decides what becomes of a folder's image (tags, fingerprints, reuse, removal)."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

TUTOR = Path(__file__).resolve().parents[2] / "tutor"
# Names that only the image bookkeeping (and the grader, which asks it) may use.
BOOKKEEPING = {"image_tag", "fingerprint", "VerdictStore", "FolderImages", "older_tags", "KEPT_FOLDERS_PER_EXERCISE"}
BOOKKEEPERS = {"engine/folder_images.py", "engine/verdicts.py", "engine/grader.py"}


@functools.cache
def _modules() -> list[tuple[str, ast.Module]]:
    return [(p.relative_to(TUTOR).as_posix(), ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(TUTOR.rglob("*.py"))]


def _called(node: ast.AST) -> str:
    if isinstance(node, ast.Call):
        func = node.func
        return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return ""


def test_only_the_grader_builds_a_learners_folder() -> None:
    # Below the grader only the Docker layer itself builds (DockerHost.build hands over to a Builder).
    docker_layer = ("engine/dockerhost.py", "engine/builders/")
    builders = {name for name, tree in _modules() for node in ast.walk(tree) if _called(node) == "build"}
    # A Compose project's services are built for the grader too, by the project it starts through
    # the engine driver (tutor/engine/compose/builds.py), with a single build's limits.
    grading = {"engine/grader.py", "engine/compose/builds.py"}
    assert {name for name in builders if not name.startswith(docker_layer)} == grading, builders


def test_front_ends_grade_through_the_one_entry_point() -> None:
    graders = {}
    for name, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "tutor.engine.grader" and any(a.name == "grade" for a in node.names):
                graders[name] = True
    # The CLI's check, the tutor's Check (every tab of serve runs it), an instructor's grade, verify.
    assert set(graders) == {"cli.py", "app/widgets/check_panel.py", "classroom/grading.py", "classroom/lint_content.py"}


def test_only_the_bookkeeping_knows_tags_fingerprints_and_verdicts() -> None:
    used = {
        (name, node.id if isinstance(node, ast.Name) else node.attr)
        for name, tree in _modules()
        for node in ast.walk(tree)
        if (isinstance(node, ast.Name) and node.id in BOOKKEEPING) or (isinstance(node, ast.Attribute) and node.attr in BOOKKEEPING)
    }
    outside = {(name, what) for name, what in used if name not in BOOKKEEPERS}
    assert not outside, outside
