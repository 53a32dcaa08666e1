"""The exercise screen: edit, save, check (static and on the real engine), cancel, reset, watch."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Static
from tui_support import FIXTURE_CONTENT, Waiter

from tutor import locations
from tutor.app.dialogs.confirm import ConfirmDialog
from tutor.app.screens.doctor import DoctorScreen
from tutor.app.screens.exercise import ExerciseScreen
from tutor.app.screens.home import HomeScreen
from tutor.app.tutor_app import TutorApp
from tutor.app.widgets.build_log import BuildLog
from tutor.app.widgets.check_results import CheckLine
from tutor.app.widgets.dockerfile_editor import DockerfileEditor
from tutor.app.widgets.solution_diff import SolutionDiff
from tutor.content.model import Exercise

HELLO_SOLUTION = 'FROM busybox\nCMD ["echo", "hello from a box"]\n'


def _state(app: TutorApp) -> str:
    return str(app.screen.query_one("#check-state", Static).render())


def _status(app: TutorApp, exercise_id: str) -> str:
    return app.progress.status(exercise_id)


async def _open(app: TutorApp, pilot: object, exercise_id: str) -> ExerciseScreen:
    exercise = app.curriculum.exercise(exercise_id)
    assert exercise is not None
    app.open_exercise(exercise)
    await pilot.pause()  # type: ignore[attr-defined]
    assert isinstance(app.screen, ExerciseScreen)
    return app.screen


async def test_editor_saves_into_the_workspace_and_check_passes(
    make_app: Callable[..., TutorApp], workspace: Path, wait_for: Waiter
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot, "01-hello-box")
        assert (workspace / "01-hello-box" / "Dockerfile").read_text().startswith("FROM busybox\nCMD echo")
        await pilot.press("e")
        editor = screen.query_one(DockerfileEditor)
        assert editor.has_focus
        editor.load_text(HELLO_SOLUTION)
        await pilot.press("ctrl+s")
        assert (workspace / "01-hello-box" / "Dockerfile").read_text() == HELLO_SOLUTION
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "Passed" in _state(app))
        assert _status(app, "01-hello-box") == "passed"
        assert app.progress.load()["last"] == {"exercise": "01-hello-box"}


async def test_hints_one_at_a_time_and_solution_only_after_an_attempt(
    make_app: Callable[..., TutorApp], wait_for: Waiter
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot, "01-hello-box")
        await pilot.press("h")
        assert screen.hints_shown == 1
        await pilot.press("s")
        assert "opens after your first check" in str(screen.query_one(SolutionDiff).render())
        await pilot.press("c")
        await wait_for(pilot, lambda: "checks failed" in _state(app))
        await pilot.press("s")
        assert '+CMD ["echo", "hello from a box"]' in screen.query_one(SolutionDiff).diff


async def test_reset_asks_then_restores_the_starter_and_forgets_the_attempts(
    make_app: Callable[..., TutorApp], workspace: Path, wait_for: Waiter
) -> None:
    app = make_app()
    dockerfile = workspace / "01-hello-box" / "Dockerfile"
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot, "01-hello-box")
        starter = dockerfile.read_text()
        dockerfile.write_text(HELLO_SOLUTION)
        await pilot.press("c")
        await wait_for(pilot, lambda: _status(app, "01-hello-box") == "passed")
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")  # keeping it changes nothing
        await pilot.pause()
        assert dockerfile.read_text() == HELLO_SOLUTION
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert app.screen is screen
        assert dockerfile.read_text() == starter
        assert screen.query_one(DockerfileEditor).text == starter
        assert _status(app, "01-hello-box") == "not started"


async def test_watch_mode_checks_again_when_a_file_is_saved_elsewhere(
    make_app: Callable[..., TutorApp], workspace: Path, wait_for: Waiter
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot, "01-hello-box")
        await pilot.press("w")
        await pilot.pause(0.5)  # let the watcher start
        (workspace / "01-hello-box" / "Dockerfile").write_text(HELLO_SOLUTION)
        await wait_for(pilot, lambda: _status(app, "01-hello-box") == "passed")
        assert screen.query_one(DockerfileEditor).text == HELLO_SOLUTION
        await pilot.press("w")
        assert not screen.watching


async def test_exercises_with_several_files_edit_each(
    make_app: Callable[..., TutorApp], tmp_path: Path, workspace: Path
) -> None:
    root = tmp_path / "content-two-files"
    shutil.copytree(FIXTURE_CONTENT, root)
    exercise = root / "exercises" / "01-hello-box"
    toml = exercise / "exercise.toml"
    toml.write_text('files = ["Dockerfile", "message.txt"]\n' + toml.read_text())
    for sub in ("starter", "solution"):
        (exercise / sub / "message.txt").write_text("hello\n")
    app = make_app([root])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot, "01-hello-box")
        editor = screen.query_one(DockerfileEditor)
        assert editor.text.startswith("FROM busybox")
        await pilot.press("f")
        assert screen.pane.filename == "message.txt" and editor.has_focus
        editor.load_text("hello, box\n")
        await pilot.press("escape", "f")  # leaving the editor, then the next file saves this one
        assert (workspace / "01-hello-box" / "message.txt").read_text() == "hello, box\n"
        assert screen.pane.filename == "Dockerfile" and editor.text.startswith("FROM busybox")


async def test_no_engine_opens_the_doctor_and_lessons_stay_readable(
    make_app: Callable[..., TutorApp], monkeypatch: pytest.MonkeyPatch, wait_for: Waiter
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")  # nothing listens there
    app = make_app(check_engine=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DoctorScreen))
        await wait_for(pilot, lambda: bool(app.screen.query("#verdict")))
        assert "Checks cannot run" in str(app.screen.query_one("#verdict", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.query_one("#lesson") is not None


async def test_check_without_an_engine_says_so_and_opens_the_doctor(
    make_app: Callable[..., TutorApp], content_04: Path, monkeypatch: pytest.MonkeyPatch, wait_for: Waiter
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    app = make_app([content_04])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot, "04-first-dockerfile")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, DoctorScreen))
        # The doctor finishes its own look at the engine before the app closes.
        await wait_for(pilot, lambda: bool(app.screen.query("#verdict")))
        assert not screen.running
        assert _status(app, "04-first-dockerfile") == "not started"  # no engine, no attempt


async def test_palette_offers_the_open_exercise_actions(make_app: Callable[..., TutorApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot, "01-hello-box")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"watch mode")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen and screen.watching


@pytest.mark.docker
async def test_real_engine_solution_passes_and_shows_layers(
    make_app: Callable[..., TutorApp],
    content_04: Path,
    workspace: Path,
    wait_for: Waiter,
    clean_images: Callable[[Exercise], None],
) -> None:
    app = make_app([content_04])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot, "04-first-dockerfile")
        clean_images(screen.exercise)
        solution = content_04 / "exercises" / "04-first-dockerfile" / "solution" / "Dockerfile"
        (workspace / "04-first-dockerfile" / "Dockerfile").write_text(solution.read_text())
        screen.query_one(DockerfileEditor).load_text(solution.read_text())
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "Passed" in _state(app), timeout=120)
        assert _status(app, "04-first-dockerfile") == "passed"
        await pilot.press("i")
        layers = str(screen.query_one("#layers", Static).render())
        assert "WORKDIR /app" in layers and "MB" in layers
        # Checked again with nothing changed: the verdict stands and nothing is rebuilt.
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "Nothing changed since your last check" in _state(app), timeout=60)
        assert "Passed" in _state(app) and "WORKDIR /app" in str(screen.query_one("#layers", Static).render())
        assert any("No build ran" in line.text for line in screen.query_one(BuildLog).lines)
        # A remembered verdict of the wrong shape is kept aside and said (the engine's GradeWarning,
        # which `docker-tutor check` prints on stderr), and the folder is built again.
        verdicts = list((locations.data_dir() / "verdicts").glob("*.json"))
        assert verdicts, "the passing check remembered no verdict"
        for path in verdicts:
            path.write_text("[1, 2]")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: any("could not be used" in str(n.message) for n in app._notifications), timeout=60)
        await wait_for(pilot, lambda: "Passed" in _state(app) and "Nothing changed" not in _state(app), timeout=60)


@pytest.mark.docker
async def test_real_engine_starter_fails_with_a_hint(
    make_app: Callable[..., TutorApp], content_04: Path, wait_for: Waiter, clean_images: Callable[[Exercise], None]
) -> None:
    app = make_app([content_04])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot, "04-first-dockerfile")
        clean_images(screen.exercise)
        await pilot.press("c")
        await wait_for(pilot, lambda: "checks failed" in _state(app), timeout=120)
        assert _status(app, "04-first-dockerfile") == "failed"
        failed = [line.plain for line in screen.query(CheckLine).filter(".failed")]
        assert any("Works in /app" in line and "hint:" in line for line in failed)


@pytest.mark.docker
async def test_cancel_stops_a_running_build_and_records_nothing(
    make_app: Callable[..., TutorApp], slow_content: Path, wait_for: Waiter
) -> None:
    app = make_app([slow_content])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot, "01-slow-build")
        await pilot.press("c")
        await wait_for(pilot, lambda: "sleep 30" in _state(app), timeout=60)
        assert screen.running
        await pilot.press("escape")
        await wait_for(pilot, lambda: "Cancelled" in _state(app), timeout=10)
        assert not screen.running
        assert _status(app, "01-slow-build") == "not started"
        assert isinstance(app.screen, ExerciseScreen)  # escape cancelled; it did not leave


@pytest.mark.docker
async def test_leaving_during_a_build_cancels_it_quietly(
    make_app: Callable[..., TutorApp], slow_content: Path, wait_for: Waiter
) -> None:
    app = make_app([slow_content])
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(app, pilot, "01-slow-build")
        await pilot.press("c")
        await wait_for(pilot, lambda: "sleep 30" in _state(app), timeout=60)
        app.go_home()
        await pilot.pause(1.5)  # the cancelled grade returns to a screen that is gone: nothing may break
        assert isinstance(app.screen, HomeScreen)
        assert _status(app, "01-slow-build") == "not started"



async def test_a_long_build_line_wraps_inside_the_log_and_loses_nothing(make_app: Callable[..., TutorApp]) -> None:
    """BuildKit's RUN lines are long; beside the editor the log is narrower than 78 cells."""
    from tutor.engine.events import BuildOutput

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot, "01-hello-box")
        await pilot.press("l")  # the Results tab, where the log is
        await pilot.pause()
        log = screen.query_one(BuildLog)
        line = "#8 [stage-0 5/6] RUN --mount=type=cache,target=/root/.cache/pip pip install --no-index --find-links wheels/ -r requirements.txt"
        log.show(BuildOutput(line))
        await pilot.pause()
        width = log.scrollable_content_region.width
        assert 0 < width < 78
        assert all(strip.cell_length <= width for strip in log.lines), [strip.cell_length for strip in log.lines]
        shown = "".join(strip.text for strip in log.lines).replace(" ", "")
        assert line.replace(" ", "") in shown


async def test_build_lines_are_wrapped_again_to_the_width_the_log_has_when_seen(make_app: Callable[..., TutorApp]) -> None:
    """Written while the Results tab was hidden, or before the terminal was resized, a line was
    wrapped to a width the log no longer had: its end was cut off under the scrollbar."""
    from tutor.engine.events import BuildOutput

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot, "01-hello-box")
        log = screen.query_one(BuildLog)
        line = "#8 [stage-0 5/6] RUN --mount=type=cache,target=/root/.cache/pip pip install --no-index --find-links wheels/ -r requirements.txt"
        for number in range(30):  # enough lines for a scrollbar
            log.show(BuildOutput(f"{number} {line}"))
        await pilot.pause()
        for size in ((80, 24), (120, 40), (70, 24)):
            await pilot.resize_terminal(*size)
            await pilot.press("l")  # the Results tab, where the log is
            await pilot.pause()
            width = log.scrollable_content_region.width
            assert 0 < width and all(strip.cell_length <= width for strip in log.lines), (size, width, {s.cell_length for s in log.lines})
            shown = "".join(strip.text for strip in log.lines).replace(" ", "")
            assert all(f"{number}{line}".replace(" ", "") in shown for number in range(30)), size
