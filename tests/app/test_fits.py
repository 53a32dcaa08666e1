"""At 80x24 nothing a learner needs is cut: every footer key and every title fits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Footer
from textual.widgets._footer import FooterKey
from textual.widgets._header import HeaderTitle
from tui_support import FIXTURE_CONTENT, Waiter

from tutor.app.screens.exercise import ExerciseScreen
from tutor.app.screens.help import HelpScreen
from tutor.app.screens.home import HomeScreen
from tutor.app.screens.lesson import LessonScreen
from tutor.app.screens.quiz import QuizScreen
from tutor.app.tutor_app import TutorApp


def _cut(app: TutorApp, where: str) -> list[str]:
    width = app.size.width
    problems = []
    keys = app.screen.query_one(Footer).query(FooterKey)
    for key in keys:
        if key.region.right > width:
            problems.append(f"{where}: footer key {key.key_display or key.key} is cut")
    title = app.screen.query_one(HeaderTitle)
    text = app.format_title(app.screen.title or app.title, app.screen.sub_title or "").plain
    if len(text) > title.region.width:
        problems.append(f"{where}: title {text!r} is wider than its {title.region.width} columns")
    return problems


async def test_footers_and_titles_fit_in_80_columns(
    make_app: Callable[..., TutorApp], content_04: Path, wait_for: Waiter
) -> None:
    app = make_app([FIXTURE_CONTENT, content_04])  # a quiz, and a lesson with wide code
    problems: list[str] = []

    def laid_out() -> bool:
        keys = app.screen.query_one(Footer).query(FooterKey)
        return bool(keys) and all(key.region.width for key in keys)

    async def on(screen: type, pilot: Pilot[None]) -> None:
        await wait_for(pilot, lambda: isinstance(app.screen, screen))
        await pilot.pause(0.5)  # bindings refreshed (the footer is rebuilt when they change)
        await wait_for(pilot, laid_out)

    async with app.run_test(size=(80, 24)) as pilot:
        await on(HomeScreen, pilot)
        problems += _cut(app, "home")
        app.open_lesson(app.curriculum.lesson("04-dockerfile-recipe"))
        await on(LessonScreen, pilot)
        problems += _cut(app, "lesson")
        app.open_quiz(app.curriculum.lesson("01-first-box"))
        await on(QuizScreen, pilot)
        problems += _cut(app, "quiz")
        app.open_exercise(app.curriculum.exercises[0])
        await on(ExerciseScreen, pilot)
        problems += _cut(app, "exercise")
        await pilot.press("e", "x")  # editing, with an unsaved change
        await pilot.pause(0.5)
        await wait_for(pilot, laid_out)
        problems += _cut(app, "editing")
        await pilot.press("escape", "question_mark")
        await on(HelpScreen, pilot)
        problems += _cut(app, "help")
    assert not problems, "\n".join(problems)
