"""Each check's verdict as it arrives: running, passed, or failed with its message and hint."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from tutor.engine.report import CheckResult

NO_DETAIL = Content("")


class CheckLine(Vertical):
    """One check: a verdict line, and below it, indented, what was found and the hint."""

    def __init__(self, *, id: str) -> None:
        super().__init__(classes="check", id=id)
        # Made here, not in compose, so a verdict can be shown before the line is mounted.
        self._title = Static(classes="check-title")
        self._detail = Static(classes="check-detail")
        self.plain = ""  # the text on display

    def compose(self) -> ComposeResult:
        yield self._title
        yield self._detail

    def show(self, title: Content, detail: Content = NO_DETAIL) -> None:
        self._title.update(title)
        self._detail.update(detail)
        self._detail.display = bool(detail)
        self.plain = f"{title.plain}\n{detail.plain}".rstrip()


class CheckResults(VerticalScroll, can_focus=True):
    def clear(self) -> None:
        self.remove_children()

    def started(self, check_id: str, title: str) -> None:
        self._line(check_id).show(Content.from_markup("[$text-muted]…[/] $title", title=title))

    def finished(self, result: CheckResult) -> None:
        line = self._line(result.id)
        if result.passed:
            line.show(Content.from_markup("[$text-success]✔[/] $title  [$text-muted]$message[/]", title=result.title, message=result.message))  # noqa: E501
        elif result.skipped:
            line.show(Content.from_markup("[$text-muted]- $title: $message[/]", title=result.title, message=result.message))
        else:
            hint = Content.from_markup("\n[$text-warning]hint:[/] $hint", hint=result.hint) if result.hint else Content("")
            line.show(
                Content.from_markup("[$text-error]✘[/] [b]$title[/b]", title=result.title),
                Content(result.message) + hint,
            )
        line.set_class(result.passed, "passed")
        line.set_class(not result.passed and not result.skipped, "failed")

    def _line(self, check_id: str) -> CheckLine:
        found = self.query(f"#check-{check_id}")
        if found:
            return found.first(CheckLine)
        line = CheckLine(id=f"check-{check_id}")
        self.mount(line)
        return line
