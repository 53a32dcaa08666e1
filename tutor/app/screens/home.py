"""Home: the curriculum in order with the learner's status, overall progress, and resume."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, Header, ProgressBar, Static

from tutor.app import steps
from tutor.app.screens.base import TutorScreen
from tutor.app.widgets.curriculum_list import CurriculumList


class HomeScreen(TutorScreen):
    SHOW_PALETTE_KEY = True
    BINDINGS = [
        Binding("r", "resume", "Next step"),
        Binding("d", "app.doctor", "Doctor"),
        Binding("f2", "app.toggle_theme", "Theme"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="overview"):
            yield Static(id="summary")
            yield ProgressBar(show_eta=False, id="overall")
        yield CurriculumList(id="curriculum")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_status()
        self.query_one(CurriculumList).focus()

    def on_screen_resume(self) -> None:
        self.refresh_status()

    def refresh_status(self) -> None:
        data = self.tutor.progress.load()
        curriculum = self.tutor.curriculum
        passed = sum(1 for e in curriculum.exercises if data["exercises"].get(e.id, {}).get("status") == "passed")
        read = sum(1 for lesson in curriculum.lessons if lesson.id in data["lessons"])
        total = len(curriculum.exercises)
        self.query_one("#summary", Static).update(
            f"{passed}/{total} exercises passed · {read}/{len(curriculum.lessons)} lessons read"
        )
        self.query_one(ProgressBar).update(total=max(total, 1), progress=passed)
        self.query_one(CurriculumList).show(curriculum, data)
        # What r would open, so the key's promise is visible before it is pressed.
        step = steps.resume(curriculum, data)
        self.sub_title = f"r: {step.title}" if step else "Everything done"

    def action_resume(self) -> None:
        self.tutor.resume()

    def on_curriculum_list_chosen(self, message: CurriculumList.Chosen) -> None:
        curriculum = self.tutor.curriculum
        if message.kind == "exercise" and (exercise := curriculum.exercise(message.item_id)):
            self.tutor.open_exercise(exercise)
        elif (lesson := curriculum.lesson(message.item_id)) is not None:
            if message.kind == "quiz":
                self.tutor.open_quiz(lesson)
            else:
                self.tutor.open_lesson(lesson)
