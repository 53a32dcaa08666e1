"""The lesson reader: Markdown with a table of contents, next/previous, and the way to practise."""

from __future__ import annotations

from pathlib import PurePosixPath

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header
from textual.widgets.markdown import MarkdownFence

from tutor.app.screens.base import TutorScreen
from tutor.app.widgets.lesson_viewer import LessonViewer
from tutor.content.model import Lesson

WIDE_ENOUGH_FOR_CONTENTS = 100  # columns; below this the contents would squeeze the text


class LessonScreen(TutorScreen):
    BINDINGS = [
        Binding("escape", "app.go_home", "Home"),
        # Left and right scroll wide code sideways; only n and p change the lesson.
        Binding("n", "next", "Next"),
        Binding("p", "previous", "Previous", show=False),
        Binding("right", "scroll_code(8)", "Wide code", key_display="←→", priority=True),
        Binding("left", "scroll_code(-8)", "Wide code", show=False, priority=True),
        Binding("c", "toggle_contents", "Contents"),
        Binding("x", "exercise", "Exercise"),
        Binding("z", "quiz", "Quiz"),
    ]

    def __init__(self, lesson: Lesson) -> None:
        super().__init__()
        self.lesson = lesson

    def compose(self) -> ComposeResult:
        yield Header()
        yield LessonViewer(
            self.lesson.body,
            show_table_of_contents=self.app.size.width >= WIDE_ENOUGH_FOR_CONTENTS,
            id="lesson",
        )
        yield Footer()

    def on_mount(self) -> None:
        self.title = self.lesson.title
        self.sub_title = f"Lesson {self.lesson.id.split('-', 1)[0]}"
        self.tutor.progress.record_lesson(self.lesson.id)
        self.query_one(LessonViewer).document.focus()

    def on_resize(self) -> None:
        self.call_after_refresh(self.refresh_bindings)

    @property
    def _wide_code(self) -> list[MarkdownFence]:
        return [fence for fence in self.query(MarkdownFence) if fence.max_scroll_x > 0]

    def action_scroll_code(self, columns: int) -> None:
        """Every code block wider than the screen moves together, as one page would."""
        for fence in self._wide_code:
            fence.scroll_relative(x=columns, animate=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "quiz":
            return bool(self.lesson.quiz)
        if action == "exercise":
            return bool(self.tutor.curriculum.exercises_of(self.lesson.id))
        if action == "scroll_code":
            return bool(self._wide_code) if self.is_mounted else False
        return True

    def action_next(self) -> None:
        self._open_neighbour(+1)

    def action_previous(self) -> None:
        self._open_neighbour(-1)

    def _open_neighbour(self, step: int) -> None:
        lesson = self.tutor.neighbour_lesson(self.lesson, step)
        if lesson is None:
            self.notify("This is the last lesson." if step > 0 else "This is the first lesson.")
        else:
            self.tutor.open_lesson(lesson)

    def action_toggle_contents(self) -> None:
        viewer = self.query_one(LessonViewer)
        viewer.show_table_of_contents = not viewer.show_table_of_contents

    def action_exercise(self) -> None:
        exercises = self.tutor.curriculum.exercises_of(self.lesson.id)
        if exercises:
            self.tutor.open_exercise(exercises[0])

    def action_quiz(self) -> None:
        self.tutor.open_quiz(self.lesson)

    def on_lesson_viewer_link_followed(self, message: LessonViewer.LinkFollowed) -> None:
        href = message.href
        if "://" in href:
            self.app.open_url(href)
            return
        target = self.tutor.curriculum.lesson(PurePosixPath(href.split("#", 1)[0]).stem)
        if target is None:
            self.notify(f"No lesson at {href}", severity="warning")
        else:
            self.tutor.open_lesson(target)
