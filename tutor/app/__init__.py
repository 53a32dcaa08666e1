"""The Textual front end. It displays the engine's reports; it never grades by itself."""

from __future__ import annotations

from pathlib import Path


def run_app(content_roots: list[Path], workspace: Path) -> int:
    from tutor.app.tutor_app import TutorApp

    TutorApp(content_roots=content_roots, workspace=workspace).run()
    return 0
