"""The tutor's Textual application: loads the curriculum once and routes between screens."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen

from tutor import locations
from tutor.app import steps
from tutor.app.commands import TutorCommands
from tutor.app.crash import crash_message
from tutor.app.screens.doctor import DoctorScreen
from tutor.app.screens.exercise import ExerciseScreen
from tutor.app.screens.help import HelpScreen
from tutor.app.screens.home import HomeScreen
from tutor.app.screens.lesson import LessonScreen
from tutor.app.screens.quiz import QuizScreen
from tutor.app.themes import DARK, LIGHT, is_light, tutor_themes
from tutor.content.loader import load_curriculum
from tutor.content.model import Curriculum, Exercise, Lesson
from tutor.errors import EngineUnavailable
from tutor.progress import Data, Progress, ProgressNotSaved
from tutor.workspace import Workspace


class NotifyingProgress(Progress):
    """In the app a progress file that cannot be written is a notification; the learner keeps working."""

    def __init__(self, path: Path, notify: Callable[..., None]) -> None:
        super().__init__(path)
        self._notify = notify

    def update(self, change: Callable[[Data], None]) -> Data:
        try:
            return super().update(change)
        except ProgressNotSaved as exc:
            self._notify(exc.message, severity="error", timeout=10)  # thread-safe in Textual
            return self.load()

class TutorApp(App[None]):
    """Home, lessons, quizzes and exercises. Grading happens in the engine; this only shows it."""

    TITLE = "docker-tutor"
    CSS_PATH = "tutor_app.tcss"
    COMMANDS = App.COMMANDS | {TutorCommands}
    BINDINGS = [
        Binding("question_mark,f1", "help", "Help"),
        # A browser keeps ctrl+t (new tab) for itself: f2 works everywhere, ctrl+t in a terminal.
        Binding("f2", "toggle_theme", "Theme", show=False),  # shown on home, listed in help
        Binding("ctrl+t", "toggle_theme", "Theme", show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, *, content_roots: list[Path], workspace: Path, check_engine: bool = True) -> None:
        super().__init__()
        self.curriculum: Curriculum = load_curriculum(content_roots)
        self.progress = NotifyingProgress(locations.progress_file(), self.notify)
        self.workspace = Workspace(workspace)
        self._check_engine = check_engine
        for theme in tutor_themes():
            self.register_theme(theme)
        self.theme = LIGHT if is_light(self.progress.load()["settings"].get("theme")) else DARK

    def format_title(self, title: str, sub_title: str) -> Content:
        """Title — sub-title, both at full contrast (Textual dims the sub-title below AA)."""
        return Content.assemble(title, " — ", sub_title) if sub_title else Content(title)

    def on_mount(self) -> None:
        self.push_screen(HomeScreen())
        for warning in self.progress.warnings:
            self.notify(warning, severity="warning", timeout=10)
        if self._check_engine:
            self.probe_engine()

    @work(thread=True, exclusive=True, group="engine-probe", exit_on_error=False)
    def probe_engine(self) -> None:
        """Lessons never need the engine, so a missing one is reported, not fatal."""
        from tutor.engine.dockerhost import connect

        try:
            connect(timeout=10)
        except EngineUnavailable as exc:
            self.call_from_thread(self.engine_unavailable, exc)
        except Exception as exc:
            self.call_from_thread(self.unexpected_error, crash_message("asking for the Docker engine", exc))

    def unexpected_error(self, message: str) -> None:
        self.notify(message, title="Something went wrong", severity="error", timeout=30)

    def engine_unavailable(self, exc: EngineUnavailable) -> None:
        self.notify(f"{exc.message}\nLessons stay readable; checks need the engine.", severity="error", timeout=8)
        if not isinstance(self.screen, DoctorScreen):
            self.push_screen(DoctorScreen())

    # --- navigation, shared by screens and the command palette ---------------------------------
    def open_lesson(self, lesson: Lesson) -> None:
        self._replace_top(LessonScreen(lesson))

    def open_quiz(self, lesson: Lesson) -> None:
        if not lesson.quiz:
            self.notify(f"{lesson.title} has no quiz.")
            return
        self._replace_top(QuizScreen(lesson))

    def open_exercise(self, exercise: Exercise) -> None:
        self._replace_top(ExerciseScreen(exercise))

    def _replace_top(self, screen: Screen[None]) -> None:
        """Keep the stack shallow: home, then one content screen; Back always returns home."""
        while len(self.screen_stack) > 1 and not isinstance(self.screen, HomeScreen):
            self.pop_screen()
        self.push_screen(screen)

    def action_go_home(self) -> None:
        self.go_home()

    def go_home(self) -> None:
        while len(self.screen_stack) > 1 and not isinstance(self.screen, HomeScreen):
            self.pop_screen()

    def open_step(self, step: steps.Step) -> None:
        if step.exercise is not None:
            self.open_exercise(step.exercise)
        elif step.kind == "quiz":
            self.open_quiz(step.lesson)
        else:
            self.open_lesson(step.lesson)

    def resume(self) -> None:
        """Open the next unfinished step: the last one opened if it is not done yet."""
        step = steps.resume(self.curriculum, self.progress.load())
        if step is None:
            self.notify("Every lesson, quiz and exercise is done. Open any of them from the list.")
        else:
            self.open_step(step)

    def neighbour_lesson(self, lesson: Lesson, step: int) -> Lesson | None:
        lessons = self.curriculum.lessons
        index = lessons.index(lesson) + step
        return lessons[index] if 0 <= index < len(lessons) else None

    # --- actions -------------------------------------------------------------------------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT if self.theme == DARK else DARK
        self.progress.record_setting("theme", self.theme)

    def action_doctor(self) -> None:
        if not isinstance(self.screen, DoctorScreen):
            self.push_screen(DoctorScreen())
