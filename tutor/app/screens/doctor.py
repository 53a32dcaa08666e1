"""Doctor: what stands between the learner and a working check, with the fix for each."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import Footer, Header, Static

from tutor.app.screens.base import TutorScreen
from tutor.doctor import Finding


class DoctorScreen(TutorScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back to lessons"),
        Binding("g", "diagnose", "Check again"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Asking the Docker engine…", id="findings")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Doctor"
        self.action_diagnose()

    def action_diagnose(self) -> None:
        self.query_one("#findings", Static).update("Asking the Docker engine…")
        self.diagnose()

    @work(thread=True, exclusive=True)
    def diagnose(self) -> None:
        from tutor.doctor import diagnose

        findings = diagnose(self.tutor.curriculum)
        self.app.call_from_thread(self.show, findings)

    def show(self, findings: list[Finding]) -> None:
        lines = []
        for finding in findings:
            mark = "[$success]✔[/]" if finding.ok else ("[$error]✘[/]" if finding.blocking else "[$warning]![/]")
            fix = "\n    [$text-muted]fix:[/] $fix" if finding.fix and not finding.ok else ""
            lines.append(
                Content.from_markup(f"{mark} [b]$title[/b]  $detail{fix}", title=finding.title, detail=finding.detail, fix=finding.fix)
            )
        blocking = any(f.blocking and not f.ok for f in findings)
        verdict = (
            "Checks cannot run until the problems marked ✘ are fixed. Lessons and quizzes work as usual."
            if blocking
            else "Everything a check needs is here."
        )
        self.query_one("#findings", Static).update(Content("\n").join([*lines, Content(""), Content(verdict)]))
