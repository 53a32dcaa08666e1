"""Every lesson in order, each followed by its quiz and exercises with the learner's status."""

from __future__ import annotations

from typing import Any

from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tutor.app.display import STATUS_STYLES, status_mark
from tutor.content.model import Curriculum


class CurriculumList(OptionList):
    class Chosen(Message):
        """The learner picked an entry: kind is "lesson", "quiz" or "exercise"."""

        def __init__(self, kind: str, item_id: str) -> None:
            super().__init__()
            self.kind = kind
            self.item_id = item_id

    def show(self, curriculum: Curriculum, progress: dict[str, Any]) -> None:
        highlighted = self.highlighted_option.id if self.highlighted_option else None
        self.clear_options()
        self.add_options(_options(curriculum, progress))
        self.highlighted = self.get_option_index(highlighted) if highlighted is not None else 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        kind, _, item_id = (event.option.id or "").partition(":")
        self.post_message(self.Chosen(kind, item_id))


def _options(curriculum: Curriculum, progress: dict[str, Any]) -> list[Option]:
    read = progress.get("lessons", {})
    quizzes = progress.get("quizzes", {})
    exercises = progress.get("exercises", {})
    options: list[Option] = []
    for lesson in curriculum.lessons:
        number = lesson.id.split("-", 1)[0]
        seen = Content.from_markup("  [$text-muted]read[/]") if lesson.id in read else Content("")
        options.append(Option(Content.from_markup(f"[b]{number}[/b]  $title", title=lesson.title) + seen, id=f"lesson:{lesson.id}"))
        if lesson.quiz:
            answers = quizzes.get(lesson.id, {})
            right = sum(1 for q in lesson.quiz if answers.get(q.id, {}).get("correct"))
            style = "$text-success" if right == len(lesson.quiz) else "$text-muted"
            options.append(
                Option(
                    Content.from_markup(f"     ? Quiz  [{style}]{right}/{len(lesson.quiz)} right[/]"),
                    id=f"quiz:{lesson.id}",
                )
            )
        for exercise in curriculum.exercises_of(lesson.id):
            status = exercises.get(exercise.id, {}).get("status", "not started")
            style = STATUS_STYLES.get(status, "$text-muted")
            options.append(
                Option(
                    Content.from_markup(
                        f"     [{style}]{status_mark(status)}[/] $title  [{style}]{status}[/]", title=exercise.title
                    ),
                    id=f"exercise:{exercise.id}",
                )
            )
    return options
