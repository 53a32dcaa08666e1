"""The course as a path: next and resume lead to the next unfinished step, never back to a done one."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Button
from tui_support import FIXTURE_CONTENT

from tutor.app import steps
from tutor.app.screens.exercise import ExerciseScreen
from tutor.app.screens.lesson import LessonScreen
from tutor.app.screens.quiz import QuizScreen
from tutor.app.tutor_app import TutorApp
from tutor.content.loader import load_curriculum


def _passed(exercise_id: str) -> dict:
    return {"exercises": {exercise_id: {"status": "passed", "attempts": 1}}}


def test_the_path_is_lesson_quiz_exercises_in_order() -> None:
    course = steps.course(load_curriculum([FIXTURE_CONTENT]))
    assert [(s.kind, s.lesson.id) for s in course] == [
        ("lesson", "01-first-box"), ("quiz", "01-first-box"), ("exercise", "01-first-box"), ("lesson", "02-second-box"),
    ]


def test_next_skips_what_is_done_and_resume_never_reopens_a_finished_step() -> None:
    curriculum = load_curriculum([FIXTURE_CONTENT])
    progress = {"lessons": {"02-second-box": {}}, **_passed("01-hello-box"), "last": {"exercise": "01-hello-box"}}
    # After the exercise: lesson 02 is read, so the path goes round to what is still open.
    step = steps.after(curriculum, progress, exercise_id="01-hello-box")
    assert step is not None and (step.kind, step.lesson.id) == ("lesson", "01-first-box")
    assert steps.resume(curriculum, progress) == step
    progress["lessons"]["01-first-box"] = {}
    assert steps.resume(curriculum, progress).kind == "quiz"
    everything = {**progress, "quizzes": {"01-first-box": {q.id: {"correct": True} for q in curriculum.lessons[0].quiz}}}
    assert steps.resume(curriculum, everything) is None


async def test_after_a_pass_n_and_a_button_open_the_next_unfinished_step(make_app: Callable[..., TutorApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.progress.record_lesson("01-first-box")
        app.progress.update(lambda data: data["exercises"].update(_passed("01-hello-box")["exercises"]))
        app.open_exercise(app.curriculum.exercise("01-hello-box"))
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ExerciseScreen)
        button = screen.query_one("#next-step", Button)
        assert button.display and "Lesson 02" in str(button.label) and "(n)" in str(button.label)
        assert "n" in {b.binding.key for b in screen.active_bindings.values() if b.enabled and b.binding.show}
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, LessonScreen) and app.screen.lesson.id == "02-second-box"
        # Lesson 02 is read now: the button leads on to the quiz still open before it.
        app.open_exercise(app.curriculum.exercise("01-hello-box"))
        await pilot.pause()
        await pilot.press("l")  # the Results, where a pass shows the button
        await pilot.click("#next-step")
        await pilot.pause()
        assert isinstance(app.screen, QuizScreen)


async def test_no_next_step_before_a_pass(make_app: Callable[..., TutorApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_exercise(app.curriculum.exercise("01-hello-box"))
        await pilot.pause()
        assert not app.screen.query_one("#next-step", Button).display
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, ExerciseScreen)


async def test_home_r_opens_the_next_unfinished_step(make_app: Callable[..., TutorApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.progress.record_lesson("02-second-box")  # last opened, and done
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, LessonScreen) and app.screen.lesson.id == "01-first-box"
