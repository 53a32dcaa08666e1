"""Doctor: what stands between the learner and a working check, with the fix for each."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Footer, Header, Static

from tutor.app.crash import crash_message
from tutor.app.screens.base import TutorScreen
from tutor.doctor import Finding


class DoctorScreen(TutorScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back to lessons"),
        Binding("g", "diagnose", "Check again"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield VerticalScroll(Static("Asking the Docker engine…"), id="findings")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Doctor"
        self.query_one("#findings").focus()  # the arrow keys and PageDown scroll the findings
        self.action_diagnose()

    def action_diagnose(self) -> None:
        findings = self.query_one("#findings", VerticalScroll)
        findings.remove_children()
        findings.mount(Static("Asking the Docker engine…"))
        self.diagnose()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def diagnose(self) -> None:
        from tutor.doctor import diagnose

        try:
            findings = diagnose(self.tutor.curriculum)
        except Exception as exc:  # the doctor's own failure is a message, never a closed app
            self.app.call_from_thread(self.show_crash, crash_message("diagnosing the engine", exc))
            return
        self.app.call_from_thread(self.show, findings)

    def show_crash(self, message: str) -> None:
        container = self.query_one("#findings", VerticalScroll)
        container.remove_children()
        container.mount(Static(Content(f"✘ {message}"), id="verdict"))

    def show(self, findings: list[Finding]) -> None:
        lines: list[Static] = []
        for finding in findings:
            mark = "[$text-success]✔[/]" if finding.ok else ("[$text-error]✘[/]" if finding.blocking else "[$text-warning]![/]")
            lines.append(Static(Content.from_markup(f"{mark} [b]$title[/b]  $detail", title=finding.title, detail=finding.detail)))
            if finding.fix and not finding.ok:
                lines.append(Static(Content.from_markup("[$text-muted]fix:[/] $fix", fix=finding.fix), classes="fix"))
        blocking = any(f.blocking and not f.ok for f in findings)
        verdict = (
            "Checks cannot run until the problems marked ✘ are fixed. Lessons and quizzes work as usual."
            if blocking
            else "Everything a check needs is here."
        )
        lines.append(Static(verdict, id="verdict"))
        container = self.query_one("#findings", VerticalScroll)
        container.remove_children()
        container.mount_all(lines)
