"""Side by side from 120 columns; the Image tab tells the truth; a bug in a worker is a message."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Static
from tui_support import Waiter

from tutor.app.screens.exercise import ExerciseScreen
from tutor.app.tutor_app import TutorApp
from tutor.app.widgets.dockerfile_editor import DockerfileEditor
from tutor.app.widgets.layer_chart import LayerChart
from tutor.engine.report import BuildResult, LayerInfo


async def test_task_beside_the_editor_from_120_columns_and_tabs_below(make_app: Callable[..., TutorApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_exercise(app.curriculum.exercise("01-hello-box"))
        await pilot.pause()
        screen = app.screen
        task, editor = screen.query_one("#task-text"), screen.query_one(DockerfileEditor)
        assert task.region.width and editor.region.width
        assert task.region.right <= editor.region.x and task.region.y < editor.region.bottom  # side by side
        assert not screen.query_one("#tabs").query_one("#--content-tab-editor").display  # no Editor tab
        await pilot.press("ctrl+r")  # results replace the task on the left; the editor stays
        await pilot.pause(0.3)
        assert screen.query_one("#tabs").active == "results" and editor.region.width
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.3)
        assert not screen.has_class("side-by-side") and screen.query_one("#tabs").query_one("#--content-tab-editor").display
        assert editor.region.height == 0  # narrow: the editor waits behind its tab
        await pilot.press("e")
        await pilot.pause()
        assert editor.has_focus and editor.region.height > 10 and screen.query_one("#tabs").active == "editor"


def test_the_image_tab_says_what_happened() -> None:
    layers = [LayerInfo("", 4_000_000, True), LayerInfo('CMD ["python" "predict.py"]', 0, True)]
    reused = BuildResult(True, 0.0, [], layers=layers, image_size=4_000_000, reused=True)
    chart = LayerChart()
    chart.show(reused)
    text = str(chart.render())
    assert "0 of 0" not in text and "no build ran" in text
    assert 'CMD ["python", "predict.py"]' in text  # the comma the builder's history drops


async def test_an_unexpected_error_in_a_check_is_a_message_not_a_closed_app(
    make_app: Callable[..., TutorApp], wait_for: Waiter, monkeypatch, tmp_path
) -> None:
    import tutor.engine.grader as grader

    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("a bug of ours")

    monkeypatch.setenv("DOCKER_TUTOR_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(grader, "grade", broken)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_exercise(app.curriculum.exercise("01-hello-box"))
        await pilot.pause()
        await pilot.press("ctrl+r")
        state = lambda: str(app.screen.query_one("#check-state", Static).render())  # noqa: E731
        await wait_for(pilot, lambda: "unexpected error" in state())
        assert app.is_running and isinstance(app.screen, ExerciseScreen)
        assert "ZeroDivisionError: a bug of ours" in state() and "report it" in state()
        reports = list((tmp_path / "data" / "crash-reports").glob("*.txt"))
        assert reports and "ZeroDivisionError" in reports[0].read_text()
        await pilot.press("h")  # the app still answers
        assert app.screen.hints_shown == 1


async def test_a_dying_watcher_is_a_message_not_a_closed_app(
    make_app: Callable[..., TutorApp], wait_for: Waiter, monkeypatch, tmp_path
) -> None:
    import watchfiles

    def broken(*_args, **_kwargs):
        raise OSError(28, "inotify watch limit reached")

    monkeypatch.setenv("DOCKER_TUTOR_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(watchfiles, "watch", broken)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_exercise(app.curriculum.exercise("01-hello-box"))
        await pilot.pause()
        await pilot.press("w")
        await wait_for(pilot, lambda: any("watch limit" in str(n.message) for n in app._notifications))
        assert app.is_running and not app.screen.watching


async def test_a_failing_doctor_is_a_message_and_its_findings_scroll_from_the_keyboard(
    make_app: Callable[..., TutorApp], wait_for: Waiter, monkeypatch, tmp_path
) -> None:
    import tutor.doctor

    def broken(*_args, **_kwargs):
        raise KeyError("Version")

    monkeypatch.setenv("DOCKER_TUTOR_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(tutor.doctor, "diagnose", broken)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("d")
        await wait_for(pilot, lambda: bool(app.screen.query("#verdict")))
        assert app.is_running and "unexpected error" in str(app.screen.query_one("#verdict").render())
        assert app.focused is app.screen.query_one("#findings")
