"""At 80x24 nothing a learner needs is cut: every footer key and every title fits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Footer
from textual.widgets._footer import FooterKey
from textual.widgets._header import HeaderTitle

from tutor.app.tutor_app import TutorApp


def _cut(app: TutorApp, where: str) -> list[str]:
    width = app.size.width
    problems = []
    keys = app.screen.query_one(Footer).query(FooterKey)
    for key in keys:
        if key.region.width == 0 or key.region.right > width:
            problems.append(f"{where}: footer key {key.key_display or key.key} is cut")
    title = app.screen.query_one(HeaderTitle)
    text = app.format_title(app.screen.title or app.title, app.screen.sub_title or "").plain
    if len(text) > title.region.width:
        problems.append(f"{where}: title {text!r} is wider than its {title.region.width} columns")
    return problems


async def test_footers_and_titles_fit_in_80_columns(make_app: Callable[..., TutorApp], content_04: Path) -> None:
    app = make_app([content_04])
    problems: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        problems += _cut(app, "home")
        await pilot.press("enter")
        await pilot.pause(0.5)
        problems += _cut(app, "lesson")
        await pilot.press("z")
        await pilot.pause(0.3)
        problems += _cut(app, "quiz")
        app.open_exercise(app.curriculum.exercises[0])
        await pilot.pause(0.3)
        problems += _cut(app, "exercise")
        await pilot.press("e", "x")  # editing, with an unsaved change
        await pilot.pause(0.3)
        problems += _cut(app, "editing")
        await pilot.press("escape", "question_mark")
        await pilot.pause(0.3)
        problems += _cut(app, "help")
    assert not problems, "\n".join(problems)
