"""The command palette: every lesson, quiz, exercise and app action by name."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from tutor.app.tutor_app import TutorApp


class TutorCommands(Provider):
    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        app = cast("TutorApp", self.app)
        commands: list[tuple[str, Callable[[], object], str]] = [
            ("Home", app.go_home, "the curriculum and your progress"),
            ("Resume", app.resume, "open what you were last doing"),
            ("Help", app.action_help, "every key on every screen"),
            ("Toggle dark/light theme", app.action_toggle_theme, ""),
            ("Doctor", app.action_doctor, "is the Docker engine usable?"),
        ]
        for lesson in app.curriculum.lessons:
            commands.append((f"Lesson: {lesson.title}", partial(app.open_lesson, lesson), lesson.id))
            if lesson.quiz:
                commands.append((f"Quiz: {lesson.title}", partial(app.open_quiz, lesson), lesson.id))
        for exercise in app.curriculum.exercises:
            commands.append((f"Exercise: {exercise.title}", partial(app.open_exercise, exercise), exercise.id))
        screen_commands = getattr(self.screen, "palette_commands", None)
        if callable(screen_commands):
            commands.extend(screen_commands())
        return commands

    async def discover(self) -> Hits:
        for name, command, help_text in self._commands():
            yield DiscoveryHit(name, command, help=help_text or None)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, command, help_text in self._commands():
            score = max(matcher.match(name), matcher.match(help_text) * 0.8)
            if score > 0:
                yield Hit(score, matcher.highlight(name), command, text=name, help=help_text or None)
