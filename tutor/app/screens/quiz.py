"""A lesson's quiz: one multiple-choice question at a time, with the chosen option's explanation."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Footer, Header, Markdown, OptionList, Static
from textual.widgets.option_list import Option

from tutor.app.screens.base import TutorScreen
from tutor.content.model import Lesson, QuizOption


class QuizScreen(TutorScreen):
    BINDINGS = [
        Binding("escape", "app.go_home", "Home"),
        Binding("n,right", "move(1)", "Next question"),
        Binding("p,left", "move(-1)", "Previous question"),
        Binding("l", "lesson", "Lesson"),
        *(Binding(str(number), f"choose({number})", f"Answer {number}", show=False) for number in range(1, 10)),
    ]

    index: reactive[int] = reactive(0, init=False)

    def __init__(self, lesson: Lesson) -> None:
        super().__init__()
        self.lesson = lesson
        self.options: tuple[QuizOption, ...] = ()  # the current question's, in this learner's order

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="quiz"):
            yield Static(id="quiz-position")
            yield Markdown(id="question")
            yield OptionList(id="answers")
            yield Static(id="explanation")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"Quiz: {self.lesson.title}"
        self.show_question()

    def watch_index(self) -> None:
        self.show_question()

    def show_question(self) -> None:
        question = self.lesson.quiz[self.index]
        self.query_one("#quiz-position", Static).update(f"Question {self.index + 1} of {len(self.lesson.quiz)}")
        self.query_one("#question", Markdown).update(question.question)
        answers = self.query_one("#answers", OptionList)
        self.options = question.options_for(self.tutor.progress.learner_id())
        answers.clear_options()
        answers.add_options(
            Option(Content(f"{number}. {option.text}"), id=str(number - 1))
            for number, option in enumerate(self.options, start=1)
        )
        # Nothing is chosen for the learner: Enter alone must not answer the question.
        answers.highlighted = None
        answers.focus()
        explanation = self.query_one("#explanation", Static)
        explanation.update("")
        explanation.remove_class("right", "wrong")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        question = self.lesson.quiz[self.index]
        option = self.options[int(event.option.id or 0)]
        self.tutor.progress.record_quiz(self.lesson.id, question.id, option.correct)
        explanation = self.query_one("#explanation", Static)
        # Explanations often begin with their own "Right.", so the mark alone gives the verdict.
        text = f"✔ {option.explanation}" if option.correct else f"✘ {option.explanation}\nTry another answer."
        explanation.update(Content(text))
        explanation.set_class(option.correct, "right")
        explanation.set_class(not option.correct, "wrong")
        if option.correct and self.index == len(self.lesson.quiz) - 1:
            self.notify("Quiz complete.")

    def action_choose(self, number: int) -> None:
        answers = self.query_one("#answers", OptionList)
        if number <= answers.option_count:
            answers.highlighted = number - 1
            answers.action_select()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "move":
            target = self.index + int(parameters[0])  # type: ignore[call-overload]
            return 0 <= target < len(self.lesson.quiz) or None
        return True

    def action_move(self, step: int) -> None:
        self.index = max(0, min(len(self.lesson.quiz) - 1, self.index + step))
        self.refresh_bindings()

    def action_lesson(self) -> None:
        self.tutor.open_lesson(self.lesson)
