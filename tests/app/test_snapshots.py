"""What the learner sees: home, lesson reader and exercise screen at 80x24 and 120x40."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from tutor.app.tutor_app import TutorApp
from tutor.app.widgets.dockerfile_editor import DockerfileEditor

SIZES = [(80, 24), (120, 40)]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_home(snap_compare: Callable[..., bool], make_app: Callable[..., TutorApp], size: tuple[int, int]) -> None:
    assert snap_compare(make_app(), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_lesson_reader(
    snap_compare: Callable[..., bool], make_app: Callable[..., TutorApp], size: tuple[int, int]
) -> None:
    async def open_lesson(pilot: Pilot[None]) -> None:
        await pilot.press("enter")
        await pilot.pause(0.3)

    assert snap_compare(make_app(), terminal_size=size, run_before=open_lesson)


@pytest.mark.parametrize("size", [*SIZES, (60, 20)], ids=["80x24", "120x40", "60x20"])
def test_exercise_task(
    snap_compare: Callable[..., bool], make_app: Callable[..., TutorApp], size: tuple[int, int]
) -> None:
    async def open_exercise(pilot: Pilot[None]) -> None:
        await pilot.press("down", "down", "enter")
        await pilot.pause(0.3)

    assert snap_compare(make_app(), terminal_size=size, run_before=open_exercise)


def test_exercise_editor(snap_compare: Callable[..., bool], make_app: Callable[..., TutorApp]) -> None:
    async def open_editor(pilot: Pilot[None]) -> None:
        await pilot.press("down", "down", "enter")
        await pilot.pause(0.3)
        await pilot.press("h", "e")  # a hint, then the editor
        pilot.app.screen.query_one(DockerfileEditor).cursor_blink = False  # a blinking cursor is not a stable picture
        await pilot.pause(0.3)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=open_editor)


def test_quiz_after_an_answer(snap_compare: Callable[..., bool], make_app: Callable[..., TutorApp]) -> None:
    async def answer(pilot: Pilot[None]) -> None:
        await pilot.press("down", "enter", "2")
        await pilot.pause(0.3)

    app = make_app()
    app.progress.update(lambda data: data.update(learner="snapshot"))  # a fixed order of options
    assert snap_compare(app, terminal_size=(80, 24), run_before=answer)


def test_failed_results_in_the_light_theme(snap_compare: Callable[..., bool], make_app: Callable[..., TutorApp]) -> None:
    async def fail_a_check(pilot: Pilot[None]) -> None:
        await pilot.press("f2", "down", "down", "enter")
        await pilot.pause(0.3)
        await pilot.press("ctrl+r")
        for _ in range(200):  # the static checks answer within a second or two
            await pilot.pause(0.05)
            if pilot.app.progress.status("01-hello-box") == "failed":
                break
        await pilot.pause(0.3)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=fail_a_check)
