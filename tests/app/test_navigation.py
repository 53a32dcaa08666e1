"""Home, lessons, quizzes, palette, help, theme and resume, driven by keys at 80x24."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Markdown, Static
from tui_support import Waiter

from tutor.app.screens.exercise import ExerciseScreen
from tutor.app.screens.help import HelpScreen
from tutor.app.screens.home import HomeScreen
from tutor.app.screens.lesson import LessonScreen
from tutor.app.screens.quiz import QuizScreen
from tutor.app.tutor_app import TutorApp
from tutor.app.widgets.curriculum_list import CurriculumList


async def test_home_lists_lessons_quiz_and_exercise_status(make_app: Callable[..., TutorApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        ids = [option.id for option in app.screen.query_one(CurriculumList).options]
        assert ids == ["lesson:01-first-box", "quiz:01-first-box", "exercise:01-hello-box", "lesson:02-second-box"]
        assert "0/1 exercises passed" in str(app.screen.query_one("#summary", Static).render())


async def test_open_lesson_records_it_and_moves_next_and_back(make_app: Callable[..., TutorApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, LessonScreen) and app.screen.lesson.id == "01-first-box"
        assert "01-first-box" in app.progress.load()["lessons"]
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, LessonScreen) and app.screen.lesson.id == "02-second-box"
        await pilot.press("p")
        await pilot.pause()
        assert app.screen.lesson.id == "01-first-box"  # type: ignore[attr-defined]
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        assert len(app.screen_stack) == 2  # the default screen and home: navigation never piles up


async def test_quiz_records_answers_and_explains_the_chosen_option(make_app: Callable[..., TutorApp]) -> None:
    app = make_app()
    app.progress.update(lambda data: data.update(learner="learner-a"))
    question = app.curriculum.lesson("01-first-box").quiz[0]
    order = [option.text for option in question.options_for("learner-a")]
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down", "enter")  # the quiz under lesson 01
        await pilot.pause()
        assert isinstance(app.screen, QuizScreen)
        await pilot.press("enter")  # nothing is highlighted: Enter alone answers nothing
        await pilot.pause()
        assert str(app.screen.query_one("#explanation", Static).render()) == ""
        await pilot.press(str(order.index("One") + 1))  # wrong
        await pilot.pause()
        explanation = str(app.screen.query_one("#explanation", Static).render())
        assert explanation.startswith("✘") and "new container" in explanation
        await pilot.press(str(order.index("Three") + 1))  # right
        await pilot.pause()
        assert str(app.screen.query_one("#explanation", Static).render()).startswith("✔ Each docker run")
        assert app.progress.load()["quizzes"]["01-first-box"]["runs"] == {"attempts": 2, "correct": True}
        await pilot.press("n")
        await pilot.pause()
        assert "What is frozen" in app.screen.query_one("#question", Markdown).source


async def test_quiz_options_keep_their_order_per_learner_and_differ_between_learners(
    make_app: Callable[..., TutorApp],
) -> None:
    app = make_app()
    learner = app.progress.learner_id()
    assert learner == make_app().progress.learner_id()  # kept across restarts
    question = app.curriculum.lesson("01-first-box").quiz[0]
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down", "enter")
        await pilot.pause()
        shown = [str(app.screen.query_one("#answers").get_option_at_index(i).prompt) for i in range(2)]
        assert [s.split(". ", 1)[1] for s in shown] == [o.text for o in question.options_for(learner)]
        assert app.screen.query_one("#answers").highlighted is None
    # Over many learners, each option comes first about as often as the other.
    firsts = [question.options_for(f"learner-{n}")[0].correct for n in range(200)]
    assert 60 < sum(firsts) < 140


async def test_lessons_and_exercises_open_out_of_order(make_app: Callable[..., TutorApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down", "down", "down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, LessonScreen) and app.screen.lesson.id == "02-second-box"
        await pilot.press("escape", "up", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ExerciseScreen)


async def test_command_palette_reaches_an_exercise(make_app: Callable[..., TutorApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"hello from")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert isinstance(app.screen, ExerciseScreen) and app.screen.exercise.id == "01-hello-box"


async def test_help_and_theme(make_app: Callable[..., TutorApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        dark = app.theme
        await pilot.press("ctrl+t")
        assert app.theme != dark


async def test_resume_after_restart_opens_the_next_unfinished_step(make_app: Callable[..., TutorApp]) -> None:
    first = make_app()
    async with first.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")  # lesson 01: read once opened, so resuming goes on to its quiz
        await pilot.pause()
    again = make_app()
    async with again.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert again.screen.sub_title == "r: Quiz 01: A first box"
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(again.screen, QuizScreen) and again.screen.lesson.id == "01-first-box"


async def test_resume_after_restart_opens_the_last_checked_exercise(
    make_app: Callable[..., TutorApp], wait_for: Waiter
) -> None:
    first = make_app()
    async with first.run_test(size=(80, 24)) as pilot:
        await pilot.press("down", "down", "enter")  # the exercise of lesson 01
        await pilot.pause()
        await pilot.press("c")
        await wait_for(pilot, lambda: first.progress.status("01-hello-box") == "failed")
    again = make_app()
    async with again.run_test(size=(80, 24)) as pilot:
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(again.screen, ExerciseScreen) and again.screen.exercise.id == "01-hello-box"
        # The counts say what they count: checks failing in the last check, and attempts.
        assert "✘ 1 of 2 checks failed · attempt 1" in str(again.screen.query_one("#exercise-status", Static).render())


async def test_progress_that_cannot_be_saved_is_a_notification_not_a_crash(
    make_app: Callable[..., TutorApp], monkeypatch
) -> None:
    import errno
    import os

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        monkeypatch.setattr(os, "fsync", full)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, LessonScreen)
        assert any("No space left on device" in str(n.message) for n in app._notifications)


async def test_revealed_hints_and_the_theme_survive_a_restart(make_app: Callable[..., TutorApp]) -> None:
    first = make_app()
    async with first.run_test(size=(80, 24)) as pilot:
        first.open_exercise(first.curriculum.exercise("01-hello-box"))
        await pilot.pause()
        await pilot.press("h")
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("ctrl+t")
        chosen = first.theme
    again = make_app()
    async with again.run_test(size=(80, 24)) as pilot:
        assert again.theme == chosen
        again.open_exercise(again.curriculum.exercise("01-hello-box"))
        await pilot.pause()
        assert isinstance(again.screen, ExerciseScreen) and again.screen.hints_shown == 1
