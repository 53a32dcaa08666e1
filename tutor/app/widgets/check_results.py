"""Each check's verdict as it arrives: running, passed, or failed with its message and hint."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from tutor.engine.report import CheckResult


class CheckResults(VerticalScroll, can_focus=True):
    def clear(self) -> None:
        self.remove_children()

    def started(self, check_id: str, title: str) -> None:
        self._line(check_id).update(Content.from_markup("[$text-muted]…[/] $title", title=title))

    def finished(self, result: CheckResult) -> None:
        line = self._line(result.id)
        if result.passed:
            line.update(Content.from_markup("[$success]✔[/] $title [$text-muted]$message[/]", title=result.title, message=result.message))
        elif result.skipped:
            line.update(Content.from_markup("[$text-muted]- $title: $message[/]", title=result.title, message=result.message))
        else:
            hint = Content.from_markup("\n  [$warning]hint:[/] $hint", hint=result.hint) if result.hint else Content("")
            line.update(
                Content.from_markup("[$error]✘[/] [b]$title[/b]\n  $message", title=result.title, message=result.message)
                + hint
            )
        line.set_class(result.passed, "passed")
        line.set_class(not result.passed and not result.skipped, "failed")

    def _line(self, check_id: str) -> Static:
        widget_id = f"check-{check_id}"
        found = self.query(f"#{widget_id}")
        if found:
            return found.first(Static)
        line = Static(classes="check", id=widget_id)
        self.mount(line)
        return line
